// The notification service's tables, in CQL (keyspace `notification`), shared by the
// service (which creates them) and the invariant checker (which reads them).
//
//   idempotency        RegisterDevice keys (bankcore IdempotencyKeys)
//   devices            one row per registered device
//   devices_by_user    a user's devices, newest first (the push goes to the newest)
//   account_users      account id -> user id, cached from the account service
//   push_claims        one row per feed item that was claimed for a push, by
//                      INSERT ... IF NOT EXISTS before sending: at most one push per item
//   pushes_by_account  pushes sent, per account, newest first (ListPushes, and the
//                      checker's evidence of "at most one push per feed item")
//   pushes_by_user     the same pushes, per user
// Thread-safety: constants only.
#pragma once

#include <array>
#include <string_view>

namespace sandbank::bank::notification_schema {

inline constexpr std::string_view kKeyspace = "notification";

inline constexpr std::array<std::string_view, 6> kTables = {
    "CREATE TABLE IF NOT EXISTS notification.devices (device_id text PRIMARY KEY, user_id text, push_token text, "
    "registered_us bigint)",
    "CREATE TABLE IF NOT EXISTS notification.devices_by_user (user_id text, registered_us bigint, device_id text, "
    "push_token text, PRIMARY KEY (user_id, registered_us, device_id)) "
    "WITH CLUSTERING ORDER BY (registered_us DESC, device_id ASC)",
    "CREATE TABLE IF NOT EXISTS notification.account_users (account_id text PRIMARY KEY, user_id text)",
    "CREATE TABLE IF NOT EXISTS notification.push_claims (feed_item_id text PRIMARY KEY, push_id text, "
    "account_id text, claimed_us bigint)",
    "CREATE TABLE IF NOT EXISTS notification.pushes_by_account (account_id text, sent_us bigint, push_id text, "
    "device_id text, user_id text, feed_item_id text, title text, body text, trace_id text, "
    "PRIMARY KEY (account_id, sent_us, push_id)) WITH CLUSTERING ORDER BY (sent_us DESC, push_id ASC)",
    "CREATE TABLE IF NOT EXISTS notification.pushes_by_user (user_id text, sent_us bigint, push_id text, "
    "device_id text, account_id text, feed_item_id text, title text, body text, "
    "PRIMARY KEY (user_id, sent_us, push_id)) WITH CLUSTERING ORDER BY (sent_us DESC, push_id ASC)",
};

}  // namespace sandbank::bank::notification_schema
