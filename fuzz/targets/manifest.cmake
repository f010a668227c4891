# The topology manifest parser (sim/supervisor): arbitrary YAML text.
sandbank_fuzzer(NAME manifest SRCS ${CMAKE_CURRENT_SOURCE_DIR}/manifest_fuzz.cc DEPS sandbank::supervisor)
