// Idempotency keys for bank services: a request's key is claimed once with an LWT
// (INSERT ... IF NOT EXISTS) in the service's `<keyspace>.idempotency` table; a retry
// finds the claim and gets the id the first attempt chose, and a key reused for a
// different request (another kind or fingerprint) is refused. Also fresh random ids,
// which every service makes.
// Thread-safety: IdempotencyKeys and IdGenerator may be used from any thread.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <string_view>

#include "sandbank/core/clock.h"
#include "sandbank/core/result.h"
#include "sandbank/kit/store_client.h"

namespace sandbank::bank {

// CREATE TABLE IF NOT EXISTS <keyspace>.idempotency (idempotency_key text PRIMARY KEY,
// kind text, result_id text, fingerprint text, created_us bigint).
std::string idempotencyTableCql(std::string_view keyspace);

struct Claim {
  std::string id;      // the id this key stands for (new_id when fresh)
  bool fresh = false;  // true: this call claimed the key; false: a retry of an earlier claim
};

class IdempotencyKeys {
 public:
  // Prepares the claim statement against `<keyspace>.idempotency` (create the table
  // first, e.g. with idempotencyTableCql). `store` and `clock` must outlive this.
  // `consistency` is the CL for the claim's Paxos commit (LOCAL_QUORUM in the bank).
  static Result<std::unique_ptr<IdempotencyKeys>> open(kit::StoreClient& store, std::string_view keyspace,
                                                       std::string consistency, const Clock& clock);

  // Claims `key` for (kind, fingerprint) under `new_id`. Errors: INVALID_ARGUMENT for an
  // empty key; FAILED_PRECONDITION when the key was used for a different request (the
  // message names the earlier kind and id); the store's error (Unavailable, WriteTimeout)
  // when the claim could not be decided - the caller may retry with the same key.
  Result<Claim> claim(const std::string& key, const std::string& kind, const std::string& fingerprint,
                      const std::string& new_id);

 private:
  IdempotencyKeys(kit::StoreClient& store, kit::StoreStatement claim, std::string consistency, const Clock& clock);
  kit::StoreClient& store_;
  kit::StoreStatement claim_;
  std::string consistency_;
  const Clock& clock_;
};

// Random ids "<prefix>_<16 hex digits>", e.g. "card_3f9c0e1a2b4d5c6e".
class IdGenerator {
 public:
  IdGenerator();
  std::string next(std::string_view prefix);

 private:
  std::mutex mu_;
  std::mt19937_64 rng_;  // guarded by mu_
};

}  // namespace sandbank::bank
