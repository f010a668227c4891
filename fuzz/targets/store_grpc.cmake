# The store's gRPC handlers (sim/store), called in-process with fuzzed requests.
sandbank_fuzzer(NAME store_grpc SRCS ${CMAKE_CURRENT_SOURCE_DIR}/store_grpc_fuzz.cc
  DEPS sandbank::store_grpc sandbank::store sandbank::proto gRPC::grpc++)
