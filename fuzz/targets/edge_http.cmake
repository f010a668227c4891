# The edge's HTTP parsing with its limits, then its routing, auth and body validation
# (services/edge), in-process with no upstream services.
sandbank_fuzzer(NAME edge_http SRCS ${CMAKE_CURRENT_SOURCE_DIR}/edge_http_fuzz.cc
  DEPS sandbank::edge sandbank::kit sandbank::proto nlohmann_json::nlohmann_json)
