// The gRPC stubs behind ControlClient, and the helpers every call site uses: a client
// context carrying the run's token and a deadline, and a readable text for a failed call.
// Include only from .cc files (it pulls in the generated gRPC headers).
// Thread-safety: stubs are thread-safe (gRPC); Stubs itself is immutable after creation.
#pragma once

#include <grpcpp/grpcpp.h>

#include <QString>

#include <chrono>
#include <memory>
#include <string>

#include "sandbank/bus.grpc.pb.h"
#include "sandbank/control.grpc.pb.h"
#include "sandbank/store.grpc.pb.h"

namespace sandbank::gui {

struct Stubs {
  Stubs(const std::string& address, std::string token);

  // A context with "authorization: Bearer <token>" and a deadline.
  std::unique_ptr<grpc::ClientContext> context(std::chrono::milliseconds deadline = std::chrono::seconds(5)) const;

  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<sandbank::control::Control::Stub> control;
  std::unique_ptr<sandbank::bus::Bus::Stub> bus;
  std::unique_ptr<sandbank::store::Store::Stub> store;
  std::string token;
};

// "UNAVAILABLE: connection refused" - for status bars and error labels.
QString describe(const grpc::Status& status);

// The answer of one unary call, carried back to the UI thread.
template <class Message>
struct Reply {
  grpc::Status status;
  Message value;
  bool ok() const { return status.ok(); }
};

// Makes one unary call: `Reply<Resp> r = unary(s, &Stub::Method, request)`.
template <class Stub, class Req, class Resp>
Reply<Resp> unary(const std::unique_ptr<Stub>& stub, grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                  const Stubs& stubs, const Req& request,
                  std::chrono::milliseconds deadline = std::chrono::seconds(5)) {
  Reply<Resp> r;
  auto ctx = stubs.context(deadline);
  r.status = ((*stub).*method)(ctx.get(), request, &r.value);
  return r;
}

}  // namespace sandbank::gui
