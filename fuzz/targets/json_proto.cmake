# JSON <-> protobuf over the descriptor set: protobuf's JSON parser and the mesh's
# PayloadDecoder (sim/mesh).
sandbank_fuzzer(NAME json_proto SRCS ${CMAKE_CURRENT_SOURCE_DIR}/json_proto_fuzz.cc
  DEPS sandbank::mesh sandbank::proto protobuf::libprotobuf)
