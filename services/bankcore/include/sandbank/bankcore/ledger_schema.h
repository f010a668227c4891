// The ledger's tables, in CQL, shared by the ledger service (which creates them) and the
// invariant checker (which reads them). Keyspace `ledger`.
//
//   idempotency       key -> which EntrySet / hold a key produced (LWT IF NOT EXISTS)
//   entrysets         one row per EntrySet, legs in bankcore's canonical text form
//   entries           one row per leg, partitioned by address (recomputation source)
//   balances          the balance cache per (address, currency): settled, held, count
//   holds             one row per hold; state moves active -> settled|released|expired
//                     once, by LWT (IF state = 'active')
//   holds_by_address  the holds at an address
//   hold_ends         one row per successful end of a hold (invariant 6 evidence)
//   addresses         the directory of every address posted to, in kAddressBuckets
//                     partitions (the store has no full scans)
// Thread-safety: constants only.
#pragma once

#include <array>
#include <string_view>

namespace sandbank::bank::ledger_schema {

inline constexpr std::string_view kKeyspace = "ledger";
inline constexpr int kAddressBuckets = 16;

inline constexpr std::array<std::string_view, 8> kTables = {
    "CREATE TABLE IF NOT EXISTS ledger.idempotency (idempotency_key text PRIMARY KEY, kind text, result_id text, "
    "fingerprint text, state text, reason text, created_us bigint)",
    "CREATE TABLE IF NOT EXISTS ledger.entrysets (entryset_id text PRIMARY KEY, idempotency_key text, legs text, "
    "description text, source text, reference text, posted_us bigint)",
    "CREATE TABLE IF NOT EXISTS ledger.entries (address text, entryset_id text, leg int, amount bigint, currency text, "
    "PRIMARY KEY (address, entryset_id, leg))",
    "CREATE TABLE IF NOT EXISTS ledger.balances (address text, currency text, settled bigint, held bigint, "
    "entry_count bigint, PRIMARY KEY (address, currency))",
    "CREATE TABLE IF NOT EXISTS ledger.holds (hold_id text PRIMARY KEY, idempotency_key text, address text, "
    "amount bigint, currency text, state text, reference text, created_us bigint, expires_us bigint, ended_us bigint, "
    "end_key text, settle_entryset_id text)",
    "CREATE TABLE IF NOT EXISTS ledger.holds_by_address (address text, hold_id text, PRIMARY KEY (address, hold_id))",
    "CREATE TABLE IF NOT EXISTS ledger.hold_ends (hold_id text, end_key text, state text, at_us bigint, "
    "PRIMARY KEY (hold_id, end_key))",
    "CREATE TABLE IF NOT EXISTS ledger.addresses (bucket int, address text, first_us bigint, "
    "PRIMARY KEY (bucket, address))",
};

// Hold states as stored.
inline constexpr std::string_view kHoldActive = "active";
inline constexpr std::string_view kHoldSettled = "settled";
inline constexpr std::string_view kHoldReleased = "released";
inline constexpr std::string_view kHoldExpired = "expired";

}  // namespace sandbank::bank::ledger_schema
