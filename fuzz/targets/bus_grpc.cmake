# The bus's gRPC handlers (sim/bus), called in-process with fuzzed requests.
sandbank_fuzzer(NAME bus_grpc SRCS ${CMAKE_CURRENT_SOURCE_DIR}/bus_grpc_fuzz.cc
  DEPS sandbank::bus_grpc sandbank::proto gRPC::grpc++)
