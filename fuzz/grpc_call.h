// Calls one unary handler of a gRPC service implementation directly, with a request
// parsed from fuzz bytes, the way gRPC would after decoding a message. Header-only.
// Thread-safety: one fuzzing thread.
#pragma once

#include <google/protobuf/stubs/logging.h>
#include <grpcpp/grpcpp.h>

#include <string_view>

#include "fuzz_util.h"

namespace sandbank::fuzz {

// Bytes that are not a valid `Req` never reach a handler (gRPC answers INTERNAL for
// them itself), so they are skipped. The handlers under test take no ServerContext
// in their unary paths; null stands in for it.
// protobuf logs every string field with bad UTF-8 it parses; fuzz inputs are full of
// them, and the log would cost more time than the parse, so it is silenced once.
inline void quietProtobufLog() {
  static const bool quiet = (google::protobuf::SetLogHandler(nullptr), true);
  (void)quiet;
}

template <class Service, class Req, class Resp>
void callUnary(Service* service, grpc::Status (Service::*method)(grpc::ServerContext*, const Req*, Resp*),
               std::string_view payload, const char* name) {
  quietProtobufLog();
  Req req;
  if (!req.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) return;
  Resp resp;
  grpc::Status st = (service->*method)(nullptr, &req, &resp);
  requireReason(st.ok(), st.error_message(), name);
  // A response must always be serializable for gRPC to send it.
  std::string out;
  if (st.ok() && !resp.SerializeToString(&out)) requireReason(false, "", name);
}

}  // namespace sandbank::fuzz
