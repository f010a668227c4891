// The card service's tables, in CQL (keyspace `card`), shared with the invariant checker.
//
//   idempotency       Issue keys -> card id (LWT IF NOT EXISTS, bankcore/idempotency.h)
//   cards             one row per card; status moves by LWT (IF status = <what was read>)
//   cards_by_token    scheme token -> card id; written IF NOT EXISTS, so a token is unique
//   cards_by_account  the cards of an account
// Thread-safety: constants only.
#pragma once

#include <array>
#include <string_view>

namespace sandbank::bank::card_schema {

inline constexpr std::string_view kKeyspace = "card";

inline constexpr std::array<std::string_view, 4> kTables = {
    "CREATE TABLE IF NOT EXISTS card.idempotency (idempotency_key text PRIMARY KEY, kind text, result_id text, "
    "fingerprint text, created_us bigint)",
    "CREATE TABLE IF NOT EXISTS card.cards (card_id text PRIMARY KEY, account_id text, token text, last_four text, "
    "status text, created_us bigint)",
    "CREATE TABLE IF NOT EXISTS card.cards_by_token (token text PRIMARY KEY, card_id text)",
    "CREATE TABLE IF NOT EXISTS card.cards_by_account (account_id text, card_id text, "
    "PRIMARY KEY (account_id, card_id))",
};

// Card states as stored.
inline constexpr std::string_view kActive = "active";
inline constexpr std::string_view kFrozen = "frozen";
inline constexpr std::string_view kCancelled = "cancelled";

}  // namespace sandbank::bank::card_schema
