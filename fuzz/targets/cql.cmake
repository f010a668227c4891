# The store's CQL parser (sim/store): arbitrary statement text.
sandbank_fuzzer(NAME cql SRCS ${CMAKE_CURRENT_SOURCE_DIR}/cql_fuzz.cc DEPS sandbank::store)
