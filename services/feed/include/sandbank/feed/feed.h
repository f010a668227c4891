// The feed: what a customer scrolls through, one item per source event, built from
// `transaction.events` and `pot.events`. A transaction gets exactly one item
// (feed_<transaction id>), created by whichever of its events arrives first with
// INSERT ... IF NOT EXISTS; later events of the same transaction (settled, reversed)
// rewrite that item's title, body and amount in place - by LWT on the state it read, so
// the text only moves forward - and never make a second item. A pot creation and each
// pot deposit or withdrawal are one item each. Every new item is published as a
// FeedEvent on `feed.events` (keyed by account id) and handle() waits for the bus to
// acknowledge it; a redelivery of the event that created an item publishes it again
// (notification pushes at most once per item anyway).
// Thread-safety: every method may be called concurrently.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sandbank/bank/feed.pb.h"
#include "sandbank/bankcore/write_timestamps.h"
#include "sandbank/core/clock.h"
#include "sandbank/core/result.h"
#include "sandbank/kit/bus_client.h"
#include "sandbank/kit/store_client.h"

namespace sandbank::bank::transaction {
class TransactionRecord;
}

namespace sandbank::feed {

namespace pb = ::sandbank::bank::feed;

inline constexpr const char* kTransactionsTopic = "transaction.events";
inline constexpr const char* kPotsTopic = "pot.events";

struct FeedOptions {
  std::string consistency = "LOCAL_QUORUM";
  int replication_factor = 3;
  std::string topic = "feed.events";
  std::chrono::milliseconds publish_timeout{10000};
};

// "£12.50", "-£12.50" (signed = true adds the sign of money out), "EUR 3.00" for
// currencies without a symbol here.
std::string formatMoney(int64_t minor_units, const std::string& currency, bool signed_amount = false);

// The title and body a person sees for a transaction in its current state.
struct ItemText {
  std::string title;
  std::string body;
};
ItemText describeTransaction(const ::sandbank::bank::transaction::TransactionRecord& t);

class Feed {
 public:
  // Creates the keyspace and tables if missing. `store` and `clock` must outlive this;
  // `bus` may be null (nothing is published).
  static Result<std::unique_ptr<Feed>> open(kit::StoreClient& store, kit::BusProducer* bus, const Clock& clock,
                                            FeedOptions options = {});
  ~Feed();

  static std::vector<std::string> consumedTopics();

  // One record of transaction.events or pot.events. OK when done or unusable (logged);
  // an error asks for redelivery.
  Status handle(const kit::BusDelivery& record);

  // Newest first; limit <= 0 means 50, at most 500. Errors: INVALID_ARGUMENT naming the
  // field, or the store's errors.
  Result<pb::ListFeedResponse> listFeed(const pb::ListFeedRequest& request);
  // One item; NOT_FOUND when missing.
  Result<pb::FeedItem> item(const std::string& feed_item_id);

  struct Statements;

 private:
  // An item as read, with the columns that are not in the proto.
  struct Stored {
    pb::FeedItem item;
    std::string state;
    std::string origin;
  };

  Feed(kit::StoreClient& store, kit::BusProducer* bus, const Clock& clock, FeedOptions options);
  Status init();
  kit::StoreCall readCall() const;
  kit::StoreCall writeCall();
  kit::StoreCall lwtCall() const;
  Status onTransaction(const kit::BusDelivery& record);
  Status onPot(const kit::BusDelivery& record);
  // Creates `item` unless its id exists. Returns the stored item when it did exist.
  Result<std::optional<Stored>> create(const pb::FeedItem& item, const std::string& state, const std::string& origin);
  Result<std::optional<Stored>> read(const std::string& feed_item_id);
  Status writeIndex(const pb::FeedItem& item);
  Status publish(const pb::FeedItem& item);

  kit::StoreClient& store_;
  kit::BusProducer* bus_;
  const Clock& clock_;
  FeedOptions options_;
  std::unique_ptr<Statements> st_;
  bank::WriteTimestamps timestamps_;
};

}  // namespace sandbank::feed
