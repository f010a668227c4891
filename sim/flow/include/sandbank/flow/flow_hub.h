// FlowHub: where every FlowEvent of a run arrives. It numbers events, stamps missing
// times, keeps a bounded ring of recent events for live queries, fans events out to live
// subscribers through per-subscriber bounded queues, and hands them to an attached
// Recorder. Thread-safety: every method may be called from any thread; emit() never
// waits for a subscriber or the recorder (a full queue drops and counts instead).
//
//   mesh / bus / store --emit()--> FlowHub --+--> ring (last N events, live queries)
//                                            +--> FlowSubscription queue (per subscriber,
//                                            |    filtered, bounded, drops counted)
//                                            +--> Recorder queue --> SQLite thread
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "sandbank/core/clock.h"
#include "sandbank/flow/flow_event.h"
#include "sandbank/flow/flow_filter.h"

namespace sandbank::flow {

class Recorder;
class FlowHub;

using FlowEventPtr = std::shared_ptr<const FlowEvent>;

// What a subscriber gets from one poll: events in the order the hub handed them over,
// and how many matching events were lost since the previous poll because the queue was
// full.
struct FlowBatch {
  std::vector<FlowEventPtr> events;
  uint64_t lost = 0;
};

struct SubscriberStats {
  std::string name;
  uint64_t delivered = 0;  // events placed in the queue
  uint64_t dropped = 0;    // matching events lost because the queue was full
  uint64_t queued = 0;     // events waiting to be polled now
};

struct FlowHubStats {
  uint64_t emitted = 0;           // events accepted (ids 1..emitted)
  uint64_t ring_size = 0;         // events currently held in the ring
  uint64_t subscriber_dropped = 0;  // all drops by all subscribers, closed ones included
  uint64_t recorder_dropped = 0;  // events the attached recorder could not queue
  std::vector<SubscriberStats> subscribers;  // open subscriptions
};

namespace detail {
// The queue behind one subscription. Shared between the handle and the hub's subscriber
// snapshot, so an emitter holding an old snapshot can still touch it safely after the
// subscriber closed (offer() then does nothing).
class SubscriberQueue {
 public:
  SubscriberQueue(std::string name, FlowFilter filter, size_t capacity);
  // Called by emitters outside the hub lock. Holds mu_ only to place one pointer.
  void offer(const FlowEventPtr& e);
  FlowBatch take(size_t max, std::chrono::milliseconds wait);
  void close();
  SubscriberStats stats() const;
  uint64_t dropped() const;

  const std::string name;
  const FlowFilter filter;

 private:
  const bool match_all_;
  const size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  // A ring of capacity_ slots: head_ is the next to pop, count_ how many are queued.
  std::vector<FlowEventPtr> slots_;  // guarded by mu_
  size_t head_ = 0;                  // guarded by mu_
  size_t count_ = 0;                 // guarded by mu_
  uint64_t delivered_ = 0;           // guarded by mu_
  uint64_t dropped_ = 0;             // guarded by mu_
  uint64_t lost_since_poll_ = 0;     // guarded by mu_
  bool waiting_ = false;             // guarded by mu_ (a poll is asleep on cv_)
  bool closed_ = false;              // guarded by mu_
};
}  // namespace detail

// One live subscriber. Created by FlowHub::subscribe; destroying it (or close())
// unsubscribes. The hub must outlive its subscriptions. poll() is meant for one consumer
// thread; stats() may be called from any thread.
class FlowSubscription {
 public:
  ~FlowSubscription();
  FlowSubscription(const FlowSubscription&) = delete;
  FlowSubscription& operator=(const FlowSubscription&) = delete;

  // Takes up to `max` queued events without waiting.
  FlowBatch poll(size_t max = SIZE_MAX);
  // Like poll(), but waits up to `timeout` for at least one event, a loss, or close().
  FlowBatch pollWait(size_t max, std::chrono::milliseconds timeout);
  // Stops delivery and wakes a waiting pollWait(). Idempotent.
  void close();

  const std::string& name() const { return queue_->name; }
  SubscriberStats stats() const { return queue_->stats(); }

 private:
  friend class FlowHub;
  FlowSubscription(FlowHub* hub, std::shared_ptr<detail::SubscriberQueue> queue)
      : hub_(hub), queue_(std::move(queue)) {}

  FlowHub* hub_;
  std::shared_ptr<detail::SubscriberQueue> queue_;
  bool closed_ = false;  // only touched by the owning thread
};

struct FlowHubOptions {
  size_t ring_capacity = 100'000;           // events kept for live queries
  size_t default_subscriber_capacity = 10'000;
};

class FlowHub final : public FlowSink {
 public:
  // `sim_clock` stamps start_sim_us and `real_clock` start_real_us on events that arrive
  // without them (0). Both must outlive the hub.
  explicit FlowHub(const Clock& sim_clock, const Clock& real_clock = SystemClock::instance(),
                   FlowHubOptions options = {});
  ~FlowHub() override;

  // Accepts an event: gives it the next id, fills missing times (end = start when end is
  // 0), stores it in the ring, offers it to every subscriber whose filter matches, and
  // queues it for the attached recorder. Never blocks on a consumer.
  void emit(FlowEvent event) override;

  // Opens a live subscription. `capacity` 0 means options.default_subscriber_capacity.
  // `name` appears in stats ("gui", "control:42").
  std::unique_ptr<FlowSubscription> subscribe(std::string name, FlowFilter filter = {},
                                              size_t capacity = 0);

  // Every event emitted from now on is also queued on `recorder` (nullptr detaches).
  // The hub keeps a reference, so the recorder stays alive while attached.
  void attachRecorder(std::shared_ptr<Recorder> recorder);

  // The ring's events matching `filter`, ascending by id; when `limit` > 0 only the
  // newest `limit` matches. Copies pointers under the lock and filters outside it.
  std::vector<FlowEventPtr> recent(const FlowFilter& filter = {}, size_t limit = 0) const;

  FlowHubStats stats() const;
  const Clock& simClock() const { return sim_clock_; }

 private:
  friend class FlowSubscription;
  void unsubscribe(const detail::SubscriberQueue* queue);

  using SubscriberList = std::vector<std::shared_ptr<detail::SubscriberQueue>>;

  const Clock& sim_clock_;
  const Clock& real_clock_;
  const FlowHubOptions options_;

  mutable std::mutex mu_;
  uint64_t next_id_ = 1;                          // guarded by mu_
  std::vector<FlowEventPtr> ring_;                // guarded by mu_ (ring_capacity slots)
  size_t ring_next_ = 0;                          // guarded by mu_ (slot for the next event)
  size_t ring_size_ = 0;                          // guarded by mu_
  // Copy-on-write: emit() copies the pointer under mu_ and walks the list outside it.
  std::shared_ptr<const SubscriberList> subs_;    // guarded by mu_
  std::shared_ptr<Recorder> recorder_;            // guarded by mu_
  uint64_t closed_subscriber_drops_ = 0;          // guarded by mu_
};

}  // namespace sandbank::flow
