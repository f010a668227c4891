// The token check as a core auth-metadata processor on plaintext credentials. The C++
// InsecureServerCredentials refuses a processor (it asserts), and a server interceptor
// cannot fail a call before its handler runs; the core server-auth filter can, for every
// method of every service on the port. Thread-safety: the processor state is immutable.
#include "token_credentials.h"

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpcpp/security/server_credentials.h>

#include <string_view>

namespace sandbank::control {
namespace {

std::string_view view(const grpc_slice& s) {
  return {reinterpret_cast<const char*>(GRPC_SLICE_START_PTR(s)), GRPC_SLICE_LENGTH(s)};
}

// Compares every byte whatever the first difference, so the time taken says nothing
// about how much of a guess was right (the length is no secret: tokens have one size).
bool sameToken(std::string_view got, std::string_view want) {
  if (got.size() != want.size() || want.empty()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < got.size(); ++i) diff |= static_cast<unsigned char>(got[i] ^ want[i]);
  return diff == 0;
}

void processAuth(void* state, grpc_auth_context* /*context*/, const grpc_metadata* md, size_t num_md,
                 grpc_process_auth_metadata_done_cb cb, void* user_data) {
  const std::string& expected = *static_cast<const std::string*>(state);
  const grpc_metadata* header = nullptr;
  for (size_t i = 0; i < num_md; ++i)
    if (view(md[i].key) == "authorization") header = &md[i];
  if (header == nullptr) {
    cb(user_data, nullptr, 0, nullptr, 0, GRPC_STATUS_UNAUTHENTICATED,
       "missing 'authorization: Bearer <token>' metadata; the token is in the simulator's run-state file");
    return;
  }
  constexpr std::string_view kBearer = "Bearer ";
  std::string_view value = view(header->value);
  if (value.substr(0, kBearer.size()) != kBearer || !sameToken(value.substr(kBearer.size()), expected)) {
    cb(user_data, nullptr, 0, nullptr, 0, GRPC_STATUS_UNAUTHENTICATED,
       "wrong token for this simulator; use the token in its run-state file");
    return;
  }
  // Nothing is consumed: the Control service checks the header again itself.
  cb(user_data, nullptr, 0, nullptr, 0, GRPC_STATUS_OK, nullptr);
}

void destroyState(void* state) { delete static_cast<std::string*>(state); }

class TokenServerCredentials final : public grpc::ServerCredentials {
 public:
  explicit TokenServerCredentials(std::string token) : creds_(grpc_insecure_server_credentials_create()) {
    if (!token.empty()) {
      grpc_auth_metadata_processor p{processAuth, destroyState, new std::string(std::move(token))};
      grpc_server_credentials_set_auth_metadata_processor(creds_, p);
    }
  }
  ~TokenServerCredentials() override { grpc_server_credentials_release(creds_); }

  void SetAuthMetadataProcessor(const std::shared_ptr<grpc::AuthMetadataProcessor>& /*processor*/) override {
    // The token processor is the only one; a second would silently replace it.
  }

 private:
  int AddPortToServer(const std::string& addr, grpc_server* server) override {
    return grpc_server_add_http2_port(server, addr.c_str(), creds_);
  }

  grpc_server_credentials* creds_;
};

}  // namespace

std::shared_ptr<grpc::ServerCredentials> tokenServerCredentials(std::string token) {
  return std::make_shared<TokenServerCredentials>(std::move(token));
}

}  // namespace sandbank::control
