// The account service's tables, in CQL (keyspace `account`), shared with the invariant
// checker, which reads overdraft limits from `accounts`.
// Thread-safety: constants only.
#pragma once

#include <array>
#include <string_view>

namespace sandbank::bank::account_schema {

inline constexpr std::string_view kKeyspace = "account";

inline constexpr std::array<std::string_view, 4> kTables = {
    "CREATE TABLE IF NOT EXISTS account.idempotency (idempotency_key text PRIMARY KEY, kind text, result_id text, "
    "fingerprint text, created_us bigint)",
    "CREATE TABLE IF NOT EXISTS account.users (user_id text PRIMARY KEY, name text, email text, created_us bigint)",
    "CREATE TABLE IF NOT EXISTS account.accounts (account_id text PRIMARY KEY, user_id text, currency text, "
    "overdraft bigint, status text, created_us bigint)",
    "CREATE TABLE IF NOT EXISTS account.accounts_by_user (user_id text, account_id text, "
    "PRIMARY KEY (user_id, account_id))",
};

}  // namespace sandbank::bank::account_schema
