// The transaction service's tables, in CQL (keyspace `transaction`), shared by the
// service (which creates them) and the invariant checker (which reads them).
//
//   transactions  one row per transaction; the id is derived from its source
//                 (txn_card_<authorisation id>, txn_p2p_<transfer id>_<out|in>,
//                 txn_fps_<payment id>; txn_card_<authorisation id>_late for a late
//                 presentment after a reversal), created by INSERT ... IF NOT EXISTS, and its state
//                 moves forward by LWT (UPDATE ... IF state = <the state read>)
//   by_account    the transactions of an account, newest first (ListByAccount and the
//                 checker's evidence of "exactly one transaction per source")
// Thread-safety: constants only.
#pragma once

#include <array>
#include <string>
#include <string_view>

namespace sandbank::bank::transaction_schema {

inline constexpr std::string_view kKeyspace = "transaction";

inline constexpr std::array<std::string_view, 2> kTables = {
    "CREATE TABLE IF NOT EXISTS transaction.transactions (transaction_id text PRIMARY KEY, account_id text, "
    "kind text, source_id text, state text, previous_state text, amount bigint, currency text, merchant_id text, "
    "merchant_name text, merchant_logo text, category text, counterparty text, reference text, "
    "decline_reason text, trace_id text, created_us bigint, updated_us bigint)",
    "CREATE TABLE IF NOT EXISTS transaction.by_account (account_id text, created_us bigint, transaction_id text, "
    "kind text, source_id text, PRIMARY KEY (account_id, created_us, transaction_id)) "
    "WITH CLUSTERING ORDER BY (created_us DESC, transaction_id ASC)",
};

// States as stored. pending -> settled | reversed; declined, settled and reversed are
// final. An empty previous_state means the transaction was created in `state`.
inline constexpr std::string_view kPending = "pending";
inline constexpr std::string_view kSettled = "settled";
inline constexpr std::string_view kReversed = "reversed";
inline constexpr std::string_view kDeclined = "declined";

// Deterministic ids: one transaction per source, whoever creates it first.
inline std::string cardTransactionId(std::string_view authorisation_id) {
  return "txn_card_" + std::string(authorisation_id);
}
// A late presentment (the card processor force-posted a clearing after the
// authorisation was reversed or expired): the reversed transaction stays reversed and
// the money taken shows as this second, settled one. Its source_id is
// "<authorisation id>:late_presentment", so the authorisation still has one transaction.
inline std::string cardLatePresentmentTransactionId(std::string_view authorisation_id) {
  return "txn_card_" + std::string(authorisation_id) + "_late";
}
inline std::string p2pTransactionId(std::string_view transfer_id, bool outgoing) {
  return "txn_p2p_" + std::string(transfer_id) + (outgoing ? "_out" : "_in");
}
inline std::string fpsTransactionId(std::string_view payment_id) { return "txn_fps_" + std::string(payment_id); }

}  // namespace sandbank::bank::transaction_schema
