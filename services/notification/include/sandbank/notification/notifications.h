// Notifications: devices registered per user, and pushes for feed items, at most one
// per item. handle() takes a FeedEvent from `feed.events`, finds the account's user
// (AccountDirectory, cached in the store) and the user's newest device, claims the feed
// item with INSERT ... IF NOT EXISTS in push_claims, and only then "sends" the push
// (simulated: a log line) and records it. A duplicate delivery or a second consumer loses
// the claim and sends nothing; a crash after the claim means the item is never pushed,
// which at-most-once allows. An account whose user has no device gets nothing recorded.
// Thread-safety: every method may be called concurrently.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sandbank/bank/notification.pb.h"
#include "sandbank/bankcore/idempotency.h"
#include "sandbank/bankcore/write_timestamps.h"
#include "sandbank/core/clock.h"
#include "sandbank/core/result.h"
#include "sandbank/kit/bus_client.h"
#include "sandbank/kit/store_client.h"
#include "sandbank/notification/account_directory.h"

namespace sandbank::notification {

namespace pb = ::sandbank::bank::notification;

inline constexpr const char* kFeedTopic = "feed.events";

struct NotificationsOptions {
  std::string consistency = "LOCAL_QUORUM";
  int replication_factor = 3;
};

struct NotificationStats {
  int64_t sent = 0;        // pushes claimed and sent
  int64_t duplicates = 0;  // feed items already claimed (redelivery or another consumer)
  int64_t no_device = 0;   // the account's user has no device: nothing recorded
  int64_t unknown_account = 0;
};

class Notifications {
 public:
  // Creates the keyspace and tables if missing. `store`, `clock` and `accounts` must
  // outlive this.
  static Result<std::unique_ptr<Notifications>> open(kit::StoreClient& store, const Clock& clock,
                                                     AccountDirectory& accounts, NotificationsOptions options = {});
  ~Notifications();

  // Idempotent by key: a retry returns the device first registered (replayed = true), the
  // same key for another user or token is FAILED_PRECONDITION. INVALID_ARGUMENT names a
  // missing field.
  Result<pb::Device> registerDevice(const pb::RegisterDeviceRequest& request);
  // The pushes of an account or of a user (one of them is required), newest first, at
  // most 500.
  Result<pb::ListPushesResponse> listPushes(const pb::ListPushesRequest& request);

  // One record of feed.events. OK when done, a duplicate, or unusable (logged); an error
  // (store, account service) asks for redelivery - safe, since the claim is the guard.
  Status handle(const kit::BusDelivery& record);

  NotificationStats stats() const;

  struct Statements;

 private:
  Notifications(kit::StoreClient& store, const Clock& clock, AccountDirectory& accounts,
                NotificationsOptions options);
  Status init();
  kit::StoreCall readCall() const;
  kit::StoreCall writeCall();
  kit::StoreCall lwtCall() const;
  Result<std::string> userOf(const std::string& account_id);
  Result<pb::Device> readDevice(const std::string& device_id);

  kit::StoreClient& store_;
  const Clock& clock_;
  AccountDirectory& accounts_;
  NotificationsOptions options_;
  std::unique_ptr<Statements> st_;
  std::unique_ptr<bank::IdempotencyKeys> keys_;
  bank::IdGenerator ids_;
  bank::WriteTimestamps timestamps_;
  std::atomic<int64_t> sent_{0}, duplicates_{0}, no_device_{0}, unknown_account_{0};
};

}  // namespace sandbank::notification
