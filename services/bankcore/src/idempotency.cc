// Idempotency claims over the store's LWT; see idempotency.h.
#include "sandbank/bankcore/idempotency.h"

#include <cstdio>

namespace sandbank::bank {

std::string idempotencyTableCql(std::string_view keyspace) {
  return "CREATE TABLE IF NOT EXISTS " + std::string(keyspace) +
         ".idempotency (idempotency_key text PRIMARY KEY, kind text, result_id text, fingerprint text, "
         "created_us bigint)";
}

IdempotencyKeys::IdempotencyKeys(kit::StoreClient& store, kit::StoreStatement claim, std::string consistency,
                                 const Clock& clock)
    : store_(store), claim_(std::move(claim)), consistency_(std::move(consistency)), clock_(clock) {}

Result<std::unique_ptr<IdempotencyKeys>> IdempotencyKeys::open(kit::StoreClient& store, std::string_view keyspace,
                                                               std::string consistency, const Clock& clock) {
  auto p = store.prepare("INSERT INTO idempotency (idempotency_key, kind, result_id, fingerprint, created_us) "
                         "VALUES (?, ?, ?, ?, ?) IF NOT EXISTS",
                         std::string(keyspace));
  if (!p.ok()) return p.status().withContext("preparing the idempotency claim in " + std::string(keyspace));
  return std::unique_ptr<IdempotencyKeys>(
      new IdempotencyKeys(store, std::move(p).value(), std::move(consistency), clock));
}

Result<Claim> IdempotencyKeys::claim(const std::string& key, const std::string& kind, const std::string& fingerprint,
                                     const std::string& new_id) {
  if (key.empty()) return InvalidArgument("idempotency_key is required");
  kit::StoreCall call;
  call.consistency = consistency_;
  call.serial_consistency = "LOCAL_SERIAL";
  auto r = store_.execute(claim_,
                          {kit::StoreValue::text(key), kit::StoreValue::text(kind), kit::StoreValue::text(new_id),
                           kit::StoreValue::text(fingerprint), kit::StoreValue::integer(toMicros(clock_.now()))},
                          call);
  if (!r.ok()) return r.status().withContext("claiming idempotency key " + key);
  if (r->applied.value_or(false)) return Claim{new_id, true};
  const std::string& held_kind = r->cell(0, "kind").s;
  const std::string& held_id = r->cell(0, "result_id").s;
  if (held_kind != kind || r->cell(0, "fingerprint").s != fingerprint) {
    return FailedPrecondition("idempotency key '" + key + "' was already used for a different request (" +
                              held_kind + " " + held_id + ")");
  }
  return Claim{held_id, false};
}

IdGenerator::IdGenerator() : rng_(std::random_device{}()) {}

std::string IdGenerator::next(std::string_view prefix) {
  unsigned long long v;
  {
    std::lock_guard lock(mu_);
    v = rng_();
  }
  char buf[24];
  std::snprintf(buf, sizeof buf, "_%016llx", v);
  return std::string(prefix) + buf;
}
}  // namespace sandbank::bank
