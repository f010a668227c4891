// Server credentials for a loopback port that admit only calls carrying the run's token
// as "authorization: Bearer <token>", checked before any service method runs, so every
// service registered on the server (Control, Bus, Store, reflection) is covered at once.
// Thread-safety: the returned credentials are immutable; the check runs on gRPC threads.
#pragma once

#include <memory>
#include <string>

namespace grpc {
class ServerCredentials;
}  // namespace grpc

namespace sandbank::control {

// Plaintext (like grpc::InsecureServerCredentials(), so existing clients connect as they
// do) plus the token check: a call without the header, with another scheme or with
// another token fails with UNAUTHENTICATED and a reason. An empty `token` checks nothing.
std::shared_ptr<grpc::ServerCredentials> tokenServerCredentials(std::string token);

}  // namespace sandbank::control
