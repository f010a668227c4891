// The fraud service's tables, in CQL (keyspace `fraud`): the payees each account has
// been allowed to pay, which the new-payee rule reads.
// Thread-safety: constants only.
#pragma once

#include <array>
#include <string_view>

namespace sandbank::bank::fraud_schema {

inline constexpr std::string_view kKeyspace = "fraud";

inline constexpr std::array<std::string_view, 1> kTables = {
    // One row per (payer, payee) once a transfer between them was allowed.
    "CREATE TABLE IF NOT EXISTS fraud.payees (from_account_id text, to_account_id text, first_us bigint, "
    "PRIMARY KEY (from_account_id, to_account_id))",
};

}  // namespace sandbank::bank::fraud_schema
