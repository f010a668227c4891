// The pots service's tables, in CQL (keyspace `pots`), shared with the invariant
// checker: pots (each the ledger address pot:<pot_id>), the index by owning account and
// the idempotency claims. Deposits and withdrawals live in the ledger only.
// Thread-safety: constants only.
#pragma once

#include <array>
#include <string_view>

namespace sandbank::bank::pots_schema {

inline constexpr std::string_view kKeyspace = "pots";

inline constexpr std::array<std::string_view, 3> kTables = {
    "CREATE TABLE IF NOT EXISTS pots.idempotency (idempotency_key text PRIMARY KEY, kind text, result_id text, "
    "fingerprint text, created_us bigint)",
    "CREATE TABLE IF NOT EXISTS pots.pots (pot_id text PRIMARY KEY, account_id text, name text, currency text, "
    "created_us bigint)",
    "CREATE TABLE IF NOT EXISTS pots.pots_by_account (account_id text, pot_id text, PRIMARY KEY (account_id, pot_id))",
};

}  // namespace sandbank::bank::pots_schema
