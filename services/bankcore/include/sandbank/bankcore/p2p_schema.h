// The p2p service's tables, in CQL (keyspace `p2p`), shared with the invariant checker:
// transfers by id, the idempotency claims that name them, and the transfers not final
// yet (bankcore/open_items.h), which the sweeper walks.
// Thread-safety: constants only.
#pragma once

#include <array>
#include <string_view>

namespace sandbank::bank::p2p_schema {

inline constexpr std::string_view kKeyspace = "p2p";

inline constexpr std::string_view kOpenTable = "open_transfers";
inline constexpr int kOpenBuckets = 16;

inline constexpr std::array<std::string_view, 3> kTables = {
    "CREATE TABLE IF NOT EXISTS p2p.idempotency (idempotency_key text PRIMARY KEY, kind text, result_id text, "
    "fingerprint text, created_us bigint)",
    // state: pending (fraud allowed, posting under way), completed, declined.
    // entryset_key is the ledger idempotency key of the transfer's one EntrySet and
    // floor_minor_units the payer's balance floor (-overdraft) it was posted with, so a
    // retry re-sends exactly the same posting.
    "CREATE TABLE IF NOT EXISTS p2p.transfers (transfer_id text PRIMARY KEY, idempotency_key text, "
    "from_account_id text, to_account_id text, minor_units bigint, currency text, reference text, state text, "
    "decline_reason text, entryset_id text, entryset_key text, floor_minor_units bigint, created_us bigint, "
    "updated_us bigint)",
    // Transfers listed before their PENDING row is written and taken off once final
    // (item_id = transfer_id); claimed_us is the sweeper's claim (0 = none).
    "CREATE TABLE IF NOT EXISTS p2p.open_transfers (bucket int, item_id text, since_us bigint, claimed_us bigint, "
    "PRIMARY KEY (bucket, item_id))",
};

}  // namespace sandbank::bank::p2p_schema
