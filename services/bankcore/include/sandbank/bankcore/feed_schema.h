// The feed service's tables, in CQL (keyspace `feed`), shared by the service (which
// creates them) and the invariant checker (which reads them).
//
//   items       one row per feed item; the id is derived from the source event
//               (feed_<transaction id> for a transaction, feed_pot_move_<entryset id>
//               and feed_pot_created_<pot id> for pot events) and created by
//               INSERT ... IF NOT EXISTS, so one item per source event; its text moves
//               with its transaction's state by LWT (IF state = <the state read>)
//   by_account  the items of an account, newest first (ListFeed, and the checker's
//               evidence of "exactly one feed item")
// Thread-safety: constants only.
#pragma once

#include <array>
#include <string>
#include <string_view>

namespace sandbank::bank::feed_schema {

inline constexpr std::string_view kKeyspace = "feed";

inline constexpr std::array<std::string_view, 2> kTables = {
    "CREATE TABLE IF NOT EXISTS feed.items (feed_item_id text PRIMARY KEY, account_id text, source_event_id text, "
    "transaction_id text, title text, body text, amount bigint, currency text, image_url text, state text, "
    "origin text, trace_id text, created_us bigint, updated_us bigint)",
    "CREATE TABLE IF NOT EXISTS feed.by_account (account_id text, created_us bigint, feed_item_id text, "
    "source_event_id text, transaction_id text, PRIMARY KEY (account_id, created_us, feed_item_id)) "
    "WITH CLUSTERING ORDER BY (created_us DESC, feed_item_id ASC)",
};

// The one feed item a transaction gets (its source event is the transaction's creation).
inline std::string transactionFeedItemId(std::string_view transaction_id) {
  return "feed_" + std::string(transaction_id);
}

}  // namespace sandbank::bank::feed_schema
