// Transactions: the customer-facing record of money moving, built from the bus.
// handle() takes one record of `card.authorisations`, `card.clearings`,
// `transfer.events` or `fps.events` and makes or moves exactly one transaction per
// source (authorisation id, transfer id + side, payment id): the transaction id is
// derived from the source and created with INSERT ... IF NOT EXISTS, and its state moves
// only forward (pending -> settled | reversed; settled, reversed, declined final) by LWT
// on the state it read, so duplicate deliveries and concurrent consumers cannot make two
// or move one backwards. Every creation and transition is published as a
// TransactionEvent on `transaction.events` (keyed by account id) and handle() waits for
// the bus to acknowledge it, so a record is only committed once its event is out; a
// redelivered record whose work is already done publishes the current state's event
// again (consumers dedupe).
// Thread-safety: every method may be called concurrently (several consumer threads).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sandbank/bank/transaction.pb.h"
#include "sandbank/bankcore/write_timestamps.h"
#include "sandbank/core/clock.h"
#include "sandbank/core/result.h"
#include "sandbank/kit/bus_client.h"
#include "sandbank/kit/store_client.h"

namespace sandbank::transaction {

namespace pb = ::sandbank::bank::transaction;

// The topics transaction consumes.
inline constexpr const char* kAuthorisationsTopic = "card.authorisations";
inline constexpr const char* kClearingsTopic = "card.clearings";
inline constexpr const char* kTransfersTopic = "transfer.events";
inline constexpr const char* kFpsTopic = "fps.events";

struct TransactionsOptions {
  std::string consistency = "LOCAL_QUORUM";
  int replication_factor = 3;
  std::string topic = "transaction.events";
  // How long handle() waits for the bus to acknowledge an event before failing the
  // record (it is then redelivered and the event published again).
  std::chrono::milliseconds publish_timeout{10000};
};

class Transactions {
 public:
  // Creates the keyspace and tables if missing. `store` and `clock` must outlive this;
  // `bus` may be null (nothing is published - for tools, not for the service).
  static Result<std::unique_ptr<Transactions>> open(kit::StoreClient& store, kit::BusProducer* bus,
                                                    const Clock& clock, TransactionsOptions options = {});
  ~Transactions();

  // The topics handle() understands.
  static std::vector<std::string> consumedTopics();

  // One bus record. OK when it is done (or can never be used: an unparseable value or a
  // record without an id is logged and skipped, since redelivering it cannot help);
  // an error (store unavailable, LWT contended, event not acknowledged) asks the bus to
  // deliver it again. A clearing whose authorisation has not been seen yet creates the
  // transaction settled at the presented amount; the authorisation arriving later finds
  // it and changes nothing (states never move back), so no order of arrival loses either.
  Status handle(const kit::BusDelivery& record);

  // As in proto/sandbank/bank/transaction.proto. Errors: INVALID_ARGUMENT naming the
  // field, NOT_FOUND, or the store's errors. listByAccount is newest first; limit <= 0
  // means 50, and at most 500 are returned.
  Result<pb::TransactionRecord> get(const std::string& transaction_id);
  Result<pb::ListByAccountResponse> listByAccount(const pb::ListByAccountRequest& request);

  struct Statements;

 private:
  // What a source event asks for: the transaction as it would be created, and the
  // amount to set when it moves it (a clearing's presented amount).
  struct Desired {
    pb::TransactionRecord record;
    bool set_amount = false;
  };

  Transactions(kit::StoreClient& store, kit::BusProducer* bus, const Clock& clock, TransactionsOptions options);
  Status init();
  kit::StoreCall readCall() const;
  kit::StoreCall writeCall();
  kit::StoreCall lwtCall() const;
  Status apply(const Desired& desired);
  Result<std::optional<pb::TransactionRecord>> read(const std::string& transaction_id, std::string* previous_state);
  Status writeIndex(const pb::TransactionRecord& t);
  Status publish(const pb::TransactionRecord& t, pb::TransactionState previous);

  Status onAuthorisation(const kit::BusDelivery& record);
  Status onClearing(const kit::BusDelivery& record);
  Status onTransfer(const kit::BusDelivery& record);
  Status onPayment(const kit::BusDelivery& record);

  kit::StoreClient& store_;
  kit::BusProducer* bus_;
  const Clock& clock_;
  TransactionsOptions options_;
  std::unique_ptr<Statements> st_;
  bank::WriteTimestamps timestamps_;
};

}  // namespace sandbank::transaction
