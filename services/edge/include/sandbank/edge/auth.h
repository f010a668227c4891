// Auth: the edge's customers' credentials and session tokens, kept in the store
// (keyspace `edge`, tables created at start-up). An email is registered once (LWT
// INSERT ... IF NOT EXISTS) with a salted SHA-256 password hash; tokens are 256-bit
// random hex, stored only as their SHA-256, and expire after token_ttl on the injected
// (simulated) clock.
// Thread-safety: every method may be called concurrently; the token cache is guarded by
// cache_mu_.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "sandbank/bankcore/write_timestamps.h"
#include "sandbank/core/clock.h"
#include "sandbank/core/result.h"
#include "sandbank/kit/store_client.h"

namespace sandbank::edge {

struct AuthOptions {
  std::string consistency = "LOCAL_QUORUM";
  int replication_factor = 3;
  std::chrono::nanoseconds token_ttl = std::chrono::hours(24);
};

// One registered email and what its sign-up created (empty ids until it finished).
struct Registration {
  std::string email;  // normalised: trimmed, lower case
  std::string name;
  std::string user_id;
  std::string account_id;
  std::string card_id;
  std::string card_token;
  bool complete = false;
};

// What the routes need from sign-up, log-in and sessions. Auth is the real one; the
// fuzz target has an in-memory one so it can drive the routes without a store.
class Credentials {
 public:
  virtual ~Credentials() = default;
  virtual Result<Registration> registerEmail(std::string_view email, std::string_view name,
                                             std::string_view password) = 0;
  virtual Status completeSignUp(const Registration& registration) = 0;
  virtual Result<Registration> logIn(std::string_view email, std::string_view password) = 0;
  virtual Result<std::string> newSession(const std::string& user_id) = 0;
  virtual Result<std::string> authenticate(std::string_view token) = 0;
};

class Auth final : public Credentials {
 public:
  // Creates the keyspace and tables if missing. `store` and `clock` must outlive this.
  static Result<std::unique_ptr<Auth>> open(kit::StoreClient& store, const Clock& clock, AuthOptions options = {});
  ~Auth() override;

  // Registers `email` with `password`. When the email is already registered with the
  // same password this is a retried sign-up and returns the existing registration
  // (complete or not) so the caller can finish it. Errors: INVALID_ARGUMENT (naming the
  // field), ALREADY_EXISTS (registered with another password), or the store's errors.
  Result<Registration> registerEmail(std::string_view email, std::string_view name,
                                     std::string_view password) override;
  // Records the ids a sign-up created and marks it complete.
  Status completeSignUp(const Registration& registration) override;
  // The registration for `email` when `password` matches. UNAUTHENTICATED for an
  // unknown email or a wrong password (the same answer for both); FAILED_PRECONDITION
  // when the sign-up has not finished.
  Result<Registration> logIn(std::string_view email, std::string_view password) override;
  // A fresh token for `user_id`, valid for token_ttl.
  Result<std::string> newSession(const std::string& user_id) override;
  // The user id behind a live token; UNAUTHENTICATED when unknown or expired.
  Result<std::string> authenticate(std::string_view token) override;

  static std::string normaliseEmail(std::string_view email);

  struct Statements;

 private:
  Auth(kit::StoreClient& store, const Clock& clock, AuthOptions options);
  Status init();
  kit::StoreCall readCall() const;
  Result<Registration> read(const std::string& email, std::string* salt, std::string* hash);

  struct CachedSession {
    std::string user_id;
    int64_t expires_us = 0;
  };

  kit::StoreClient& store_;
  const Clock& clock_;
  AuthOptions options_;
  std::unique_ptr<Statements> st_;
  bank::WriteTimestamps timestamps_;
  std::mutex cache_mu_;
  std::unordered_map<std::string, CachedSession> cache_;  // token hash -> session; guarded by cache_mu_
};

}  // namespace sandbank::edge
