// The bus side of a soak: DeliveryTracker records every delivery the broker reports to
// the flow hub (kind kDeliver: group, topic, partition, offset), and auditDeliveries()
// then checks, once every group has caught up, that each committed record - every
// retained record below its group's committed offset - was delivered to that group at
// least once, that no group is left with lag, and how many records were delivered more
// than once or dead-lettered.
// "Processed once" is not visible on the bus: redelivery is the bus's contract
// (at-least-once). It shows in the effects, which the bank's invariant checker and the
// ledger audit check: one EntrySet per idempotency key (invariant 3), one transaction,
// one feed item and at most one push per approved authorisation (invariant 5), and each
// acknowledged movement exactly once in the ledger (ledger_audit.h).
// Thread-safety: DeliveryTracker's methods may be called from any thread;
// auditDeliveries() reads the broker, which is itself thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "sandbank/core/result.h"

namespace sandbank::flow {
class FlowHub;
class FlowSubscription;
}  // namespace sandbank::flow
namespace sandbank::bus {
class Broker;
}  // namespace sandbank::bus

namespace sandbank::soak {

class DeliveryTracker {
 public:
  // Subscribes at once: create it before the services start so no delivery is missed.
  // The hub must outlive the tracker.
  explicit DeliveryTracker(flow::FlowHub& hub);
  ~DeliveryTracker();  // stop()s
  DeliveryTracker(const DeliveryTracker&) = delete;
  DeliveryTracker& operator=(const DeliveryTracker&) = delete;

  // Drains what is queued and stops listening.
  void stop();
  // How many times `offset` of group/topic/partition was delivered (0 when never).
  int deliveries(const std::string& group, const std::string& topic, int32_t partition, int64_t offset) const;
  uint64_t deliveriesSeen() const;
  // Deliveries the hub could not queue for the tracker (the audit is then incomplete).
  uint64_t lost() const;

 private:
  void drain();

  std::unique_ptr<flow::FlowSubscription> sub_;
  mutable std::mutex mu_;
  // "group\ntopic\npartition" -> offset -> deliveries; guarded by mu_
  std::unordered_map<std::string, std::unordered_map<int64_t, int>> delivered_;
  uint64_t seen_ = 0;  // guarded by mu_
  uint64_t lost_ = 0;  // guarded by mu_
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
};

struct DeliveryAudit {
  int64_t groups = 0;
  int64_t partitions = 0;          // group partitions checked
  int64_t committed_records = 0;   // retained records below their group's committed offset
  int64_t delivered_records = 0;   // ... of which delivered at least once
  int64_t redelivered_records = 0; // ... of which delivered more than once
  int64_t undelivered_records = 0; // committed but never delivered to the group: violation
  int64_t lag = 0;                 // records not yet committed by their group: violation
  int64_t dead_lettered = 0;       // records on dead-letter topics: delivered, not processed
  uint64_t deliveries_seen = 0;
  uint64_t deliveries_lost = 0;    // tracker queue overflow: missing ones are not counted
  std::vector<std::string> problems;  // the first 50

  int64_t violations() const { return undelivered_records + lag + dead_lettered; }
};

// Dead-letter topics (".dlq." in the name) and their groups are counted, not checked.
Result<DeliveryAudit> auditDeliveries(const bus::Broker& broker, const DeliveryTracker& tracker);

}  // namespace sandbank::soak
