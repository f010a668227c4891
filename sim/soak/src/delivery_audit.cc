// DeliveryTracker drains a flow-hub subscription of kDeliver events on its own thread;
// auditDeliveries() walks every group's partitions through the broker's read-only fetch.
// Thread-safety: see delivery_audit.h; mu_ guards the tracker's maps and counters.
#include "sandbank/soak/delivery_audit.h"

#include <algorithm>

#include "sandbank/bus/broker.h"
#include "sandbank/flow/flow_hub.h"

namespace sandbank::soak {
namespace {

constexpr size_t kTrackerCapacity = 1 << 20;
constexpr size_t kMaxProblems = 50;
constexpr int32_t kFetchBatch = 500;

std::string slot(const std::string& group, const std::string& topic, int32_t partition) {
  return group + "\n" + topic + "\n" + std::to_string(partition);
}

bool deadLetter(const std::string& topic) { return topic.find(".dlq.") != std::string::npos; }

}  // namespace

DeliveryTracker::DeliveryTracker(flow::FlowHub& hub) {
  flow::FlowFilter filter;
  filter.addKind(flow::FlowKind::kDeliver);
  sub_ = hub.subscribe("soak-deliveries", filter, kTrackerCapacity);
  thread_ = std::thread([this] { drain(); });
}

DeliveryTracker::~DeliveryTracker() { stop(); }

void DeliveryTracker::drain() {
  for (;;) {
    flow::FlowBatch batch = sub_->pollWait(4096, std::chrono::milliseconds(100));
    std::lock_guard lock(mu_);
    lost_ += batch.lost;
    for (const auto& e : batch.events) {
      ++delivered_[slot(e->consumer_group, e->topic, e->partition)][e->offset];
      ++seen_;
    }
    if (stopping_ && batch.events.empty()) return;
  }
}

void DeliveryTracker::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();  // drains until a poll comes back empty
  sub_->close();
}

int DeliveryTracker::deliveries(const std::string& group, const std::string& topic, int32_t partition,
                                int64_t offset) const {
  std::lock_guard lock(mu_);
  auto it = delivered_.find(slot(group, topic, partition));
  if (it == delivered_.end()) return 0;
  auto o = it->second.find(offset);
  return o == it->second.end() ? 0 : o->second;
}

uint64_t DeliveryTracker::deliveriesSeen() const {
  std::lock_guard lock(mu_);
  return seen_;
}

uint64_t DeliveryTracker::lost() const {
  std::lock_guard lock(mu_);
  return lost_;
}

Result<DeliveryAudit> auditDeliveries(const bus::Broker& broker, const DeliveryTracker& tracker) {
  DeliveryAudit out;
  out.deliveries_seen = tracker.deliveriesSeen();
  out.deliveries_lost = tracker.lost();
  auto problem = [&](std::string text) {
    if (out.problems.size() < kMaxProblems) out.problems.push_back(std::move(text));
  };
  for (const auto& t : broker.describeTopics()) {
    if (!deadLetter(t.name)) continue;
    for (const auto& p : t.partitions) {
      int64_t n = p.log_end - p.log_start;
      if (n > 0) problem("dead-lettered: " + std::to_string(n) + " records on " + t.name + "#" + std::to_string(p.partition));
      out.dead_lettered += n;
    }
  }
  std::vector<std::string> groups = broker.listGroups();
  std::sort(groups.begin(), groups.end());
  for (const auto& group : groups) {
    SANDBANK_ASSIGN_OR_RETURN(std::vector<bus::PartitionLag> lags, broker.lag(group));
    bool counted = false;
    for (const auto& l : lags) {
      if (deadLetter(l.tp.topic)) continue;
      if (!counted) {
        ++out.groups;
        counted = true;
      }
      ++out.partitions;
      if (l.lag > 0) {
        out.lag += l.lag;
        problem("lag: group " + group + " is " + std::to_string(l.lag) + " records behind on " + l.tp.topic + "#" +
                std::to_string(l.tp.partition));
      }
      const int64_t end = std::min(l.committed, l.log_end);
      for (int64_t offset = l.log_start; offset < end;) {
        SANDBANK_ASSIGN_OR_RETURN(std::vector<bus::Delivery> batch, broker.fetch(l.tp, offset, kFetchBatch));
        if (batch.empty()) break;
        for (const auto& d : batch) {
          if (d.offset >= end) break;
          ++out.committed_records;
          int n = tracker.deliveries(group, d.topic, d.partition, d.offset);
          if (n == 0) {
            ++out.undelivered_records;
            problem("undelivered: " + d.topic + "#" + std::to_string(d.partition) + "@" + std::to_string(d.offset) +
                    " is below group " + group + "'s committed offset " + std::to_string(l.committed) +
                    " but was never delivered to it");
          } else {
            ++out.delivered_records;
            if (n > 1) ++out.redelivered_records;
          }
        }
        offset = batch.back().offset + 1;
      }
    }
  }
  // A lost tracker event is not evidence of a lost delivery: say so rather than blame the bus.
  if (out.deliveries_lost > 0)
    problem("the tracker lost " + std::to_string(out.deliveries_lost) + " delivery events; undelivered counts may be too high");
  return out;
}

}  // namespace sandbank::soak
