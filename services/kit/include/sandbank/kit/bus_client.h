// Clients for the bus (sandbank.bus.Bus): BusProducer batches records per topic with a
// linger, pipelines batches on one stream and reports each record's acknowledgement;
// with idempotence on, retried batches are never written twice. BusConsumer is a
// consumer-group member that runs a handler per record, commits after success, and on
// failure nacks the record so the bus redelivers it, moving it to "<topic>.dlq.<group>"
// after max_delivery_attempts (queue semantics on top of a log).
// Thread-safety: BusProducer::send/flush may be called from any thread; callbacks and
// handlers run on the client's own threads. The address comes from SANDBANK_BUS unless
// given.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sandbank/core/result.h"
#include "sandbank/kit/config.h"

namespace sandbank::kit {

struct BusMessage {
  std::optional<std::string> key;
  std::string value;
  std::vector<std::pair<std::string, std::string>> headers;
  int32_t partition = -1;    // -1 = the bus partitions by key (murmur2) or sticky
  int64_t timestamp_us = 0;  // 0 = stamped by the bus
};

struct BusAck {
  Status status;  // OK, or the last error once retries are exhausted
  int32_t partition = -1;
  int64_t offset = -1;
  bool duplicate = false;  // the bus had already written this record (retried batch)
};

struct BusDelivery {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  int32_t delivery_attempt = 1;
  int64_t append_us = 0;
  BusMessage message;
  // The value of the first header named `name`, or nullptr.
  const std::string* header(const std::string& name) const;
};

// SANDBANK_BUS from `config`, or NotFound naming the variable.
Result<std::string> busAddress(const Config& config = Config::fromEnvironment());

struct BusProducerOptions {
  std::string address;  // host:port; empty = SANDBANK_BUS
  std::string client_id = "producer";
  std::chrono::milliseconds linger{5};  // how long a partial batch waits for more records
  size_t batch_records = 1000;          // a batch is sent once it holds this many
  size_t max_in_flight = 16;            // batches sent but not yet acknowledged
  bool idempotent = true;
  int max_retries = 20;  // per batch, for retriable errors (NotLeaderForPartition, lost acks)
  std::chrono::milliseconds retry_backoff{50};
};

class BusProducer {
 public:
  static Result<std::unique_ptr<BusProducer>> create(BusProducerOptions options);
  // Flushes (up to 10 s) and stops.
  ~BusProducer();

  // Queues a record. `on_ack` (may be empty) runs on the producer's ack thread once the
  // bus acknowledged the record or the producer gave up. The current trace context (see
  // trace.h) is attached as a "traceparent" header when the message has none.
  void send(const std::string& topic, BusMessage message,
            std::function<void(const BusAck&)> on_ack = nullptr);
  // Waits until every record queued before the call is acknowledged or failed.
  // DeadlineExceeded on timeout.
  Status flush(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Records acknowledged / failed so far.
  int64_t acked() const;
  int64_t failed() const;

  class Impl;

 private:
  explicit BusProducer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct BusConsumerOptions {
  std::string address;  // empty = SANDBANK_BUS
  std::string group;
  std::string client_id = "consumer";
  std::vector<std::string> topics;
  std::string assignor = "range";             // or "roundrobin"
  std::string auto_offset_reset = "earliest";  // or "latest", "none"
  std::chrono::milliseconds session_timeout{10000};
  int32_t max_delivery_attempts = 5;  // handler failures before the dead-letter topic
  int32_t max_batch = 500;
  std::chrono::milliseconds retry_backoff{0};  // pause before nacking a failed record
};

struct BusConsumerStats {
  int64_t delivered = 0;
  int64_t handled = 0;        // handler returned OK
  int64_t failed = 0;         // handler returned an error
  int64_t dead_lettered = 0;
  int64_t commits = 0;
  int64_t commit_failures = 0;  // e.g. IllegalGeneration after a rebalance
  int64_t rebalances = 0;
  int64_t rejoins = 0;  // the member had to join again (session expired, bus restarted)
};

// Returns OK when the record is done; any error means "retry it".
using BusHandler = std::function<Status(const BusDelivery&)>;

class BusConsumer {
 public:
  // Joins the group and starts consuming on a thread of its own.
  static Result<std::unique_ptr<BusConsumer>> start(BusConsumerOptions options, BusHandler handler);
  // Stops and leaves the group.
  ~BusConsumer();
  void stop();

  BusConsumerStats stats() const;
  std::string memberId() const;
  int32_t generation() const;

  class Impl;

 private:
  explicit BusConsumer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sandbank::kit
