// The fps service's tables, in CQL (keyspace `fps`), shared with the invariant checker.
//
//   idempotency    request key -> payment id (bankcore IdempotencyKeys; LWT IF NOT EXISTS).
//                  Send keys are stored as "send:<key>", inbound as "scheme:<scheme id>".
//   payments       one row per payment; `state` only moves forward by LWT IF state = ...:
//                    out: created -> pending -> completing -> completed
//                                   pending -> reversing  -> reversed
//                         created -> declined (insufficient funds), or declined at once
//                    in:  created -> completed, or declined (unknown / closed account)
//                  `floor` is the balance floor the debit was first posted with, so a
//                  retried debit is the identical ledger request.
//   open_payments  payments not yet final, in kOpenBuckets partitions (the store has no
//                  full scans): what the recovery sweeper walks. Deleted when final.
// Ledger keys: fps:<payment id>:debit | :settle | :reverse | :credit - one EntrySet each.
// Thread-safety: constants only.
#pragma once

#include <array>
#include <string_view>

namespace sandbank::bank::fps_schema {

inline constexpr std::string_view kKeyspace = "fps";
inline constexpr int kOpenBuckets = 16;

inline constexpr std::array<std::string_view, 3> kTables = {
    "CREATE TABLE IF NOT EXISTS fps.idempotency (idempotency_key text PRIMARY KEY, kind text, result_id text, "
    "fingerprint text, created_us bigint)",
    "CREATE TABLE IF NOT EXISTS fps.payments (payment_id text PRIMARY KEY, account_id text, direction text, "
    "amount bigint, currency text, sort_code text, account_number text, reference text, state text, reason text, "
    "floor bigint, debit_entryset_id text, settle_entryset_id text, reversal_entryset_id text, scheme_payment_id text, "
    "created_us bigint, updated_us bigint)",
    "CREATE TABLE IF NOT EXISTS fps.open_payments (bucket int, payment_id text, since_us bigint, "
    "PRIMARY KEY (bucket, payment_id))",
};

// Payment states as stored ("completing" and "reversing" read as PAYMENT_PENDING).
inline constexpr std::string_view kCreated = "created";
inline constexpr std::string_view kPending = "pending";
inline constexpr std::string_view kCompleting = "completing";
inline constexpr std::string_view kReversing = "reversing";
inline constexpr std::string_view kCompleted = "completed";
inline constexpr std::string_view kReversed = "reversed";
inline constexpr std::string_view kDeclined = "declined";

// The ledger addresses fps posts between (besides account:<id>:main).
inline constexpr std::string_view kSuspenseAddress = "scheme:fps:suspense";
inline constexpr std::string_view kSettlementAddress = "external:fps";

}  // namespace sandbank::bank::fps_schema
