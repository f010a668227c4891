// The pots service's tables, in CQL (keyspace `pots`), shared with the invariant
// checker: pots (each the ledger address pot:<pot_id>), the index by owning account, the idempotency
// claims, each deposit/withdrawal (whose money lives in the ledger) and the moves not final
// yet (bankcore/open_items.h), which the sweeper walks.
// Thread-safety: constants only.
#pragma once

#include <array>
#include <string_view>

namespace sandbank::bank::pots_schema {

inline constexpr std::string_view kKeyspace = "pots";

inline constexpr std::string_view kOpenTable = "open_moves";
inline constexpr int kOpenBuckets = 16;

inline constexpr std::array<std::string_view, 5> kTables = {
    "CREATE TABLE IF NOT EXISTS pots.idempotency (idempotency_key text PRIMARY KEY, kind text, result_id text, "
    "fingerprint text, created_us bigint)",
    "CREATE TABLE IF NOT EXISTS pots.pots (pot_id text PRIMARY KEY, account_id text, name text, currency text, "
    "created_us bigint)",
    "CREATE TABLE IF NOT EXISTS pots.pots_by_account (account_id text, pot_id text, PRIMARY KEY (account_id, pot_id))",
    // A deposit or withdrawal, written before its EntrySet is posted (state pending) so a
    // retry re-sends the same posting (same ledger key, same floor); then posted/refused.
    "CREATE TABLE IF NOT EXISTS pots.moves (move_id text PRIMARY KEY, idempotency_key text, pot_id text, "
    "account_id text, kind text, minor_units bigint, currency text, floor_minor_units bigint, state text, "
    "entryset_id text, reason text, created_us bigint)",
    // Moves listed before their pending row is written and taken off once posted or
    // refused (item_id = move_id); claimed_us is the sweeper's claim (0 = none).
    "CREATE TABLE IF NOT EXISTS pots.open_moves (bucket int, item_id text, since_us bigint, claimed_us bigint, "
    "PRIMARY KEY (bucket, item_id))",
};

}  // namespace sandbank::bank::pots_schema
