// FlowHub and its subscriber queues. Locks: emit() never holds FlowHub::mu_ (ids, ring,
// subscriber list, recorder pointer) while it takes a subscriber queue's or the
// recorder's mutex, and allocates nothing under it. Lock order where both are held
// (unsubscribe, stats): FlowHub::mu_ before a queue's mutex.
#include "sandbank/flow/flow_hub.h"

#include <algorithm>

#include "sandbank/flow/recorder.h"

namespace sandbank::flow {
namespace detail {

SubscriberQueue::SubscriberQueue(std::string n, FlowFilter f, size_t capacity)
    : name(std::move(n)),
      filter(std::move(f)),
      match_all_(filter.matchesAll()),
      capacity_(std::max<size_t>(1, capacity)),
      slots_(capacity_) {}

void SubscriberQueue::offer(const FlowEventPtr& e) {
  if (!match_all_ && !filter.matches(*e)) return;
  bool wake = false;
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    if (count_ == capacity_) {
      ++dropped_;
      ++lost_since_poll_;
      wake = waiting_;
    } else {
      slots_[(head_ + count_) % capacity_] = e;
      ++count_;
      ++delivered_;
      wake = waiting_;
    }
  }
  if (wake) cv_.notify_one();
}

FlowBatch SubscriberQueue::take(size_t max, std::chrono::milliseconds wait) {
  FlowBatch batch;
  std::unique_lock lock(mu_);
  if (wait.count() > 0 && count_ == 0 && lost_since_poll_ == 0 && !closed_) {
    waiting_ = true;
    cv_.wait_for(lock, wait, [&] { return count_ > 0 || lost_since_poll_ > 0 || closed_; });
    waiting_ = false;
  }
  size_t n = std::min(max, count_);
  batch.events.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    batch.events.push_back(std::move(slots_[head_]));
    head_ = (head_ + 1) % capacity_;
  }
  count_ -= n;
  batch.lost = lost_since_poll_;
  lost_since_poll_ = 0;
  return batch;
}

void SubscriberQueue::close() {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  cv_.notify_all();
}

SubscriberStats SubscriberQueue::stats() const {
  std::lock_guard lock(mu_);
  return SubscriberStats{name, delivered_, dropped_, count_};
}

uint64_t SubscriberQueue::dropped() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

}  // namespace detail

FlowSubscription::~FlowSubscription() { close(); }

FlowBatch FlowSubscription::poll(size_t max) {
  return queue_->take(max, std::chrono::milliseconds(0));
}

FlowBatch FlowSubscription::pollWait(size_t max, std::chrono::milliseconds timeout) {
  return queue_->take(max, timeout);
}

void FlowSubscription::close() {
  if (closed_) return;
  closed_ = true;
  queue_->close();
  hub_->unsubscribe(queue_.get());
}

FlowHub::FlowHub(const Clock& sim_clock, const Clock& real_clock, FlowHubOptions options)
    : sim_clock_(sim_clock),
      real_clock_(real_clock),
      options_(options),
      ring_(std::max<size_t>(1, options.ring_capacity)),
      subs_(std::make_shared<const SubscriberList>()) {}

FlowHub::~FlowHub() = default;

void FlowHub::emit(FlowEvent event) {
  // Everything that may allocate or read a clock happens before the lock.
  if (event.start_sim_us == 0) event.start_sim_us = toMicros(sim_clock_.now());
  if (event.end_sim_us == 0) event.end_sim_us = event.start_sim_us;
  if (event.start_real_us == 0) event.start_real_us = toMicros(real_clock_.now());
  if (event.end_real_us == 0) event.end_real_us = event.start_real_us;
  auto owned = std::make_shared<FlowEvent>(std::move(event));
  FlowEventPtr e = owned;

  FlowEventPtr evicted;  // released after the lock
  std::shared_ptr<const SubscriberList> subs;
  std::shared_ptr<Recorder> recorder;
  {
    std::lock_guard lock(mu_);
    owned->id = next_id_++;
    evicted = std::move(ring_[ring_next_]);
    ring_[ring_next_] = e;
    ring_next_ = (ring_next_ + 1) % ring_.size();
    if (ring_size_ < ring_.size()) ++ring_size_;
    if (!subs_->empty()) subs = subs_;
    if (recorder_) recorder = recorder_;
  }
  if (subs) {
    for (const auto& q : *subs) q->offer(e);
  }
  if (recorder) recorder->record(std::move(e));
}

std::unique_ptr<FlowSubscription> FlowHub::subscribe(std::string name, FlowFilter filter,
                                                     size_t capacity) {
  if (capacity == 0) capacity = options_.default_subscriber_capacity;
  auto queue = std::make_shared<detail::SubscriberQueue>(std::move(name), std::move(filter),
                                                         capacity);
  {
    std::lock_guard lock(mu_);
    auto next = std::make_shared<SubscriberList>(*subs_);
    next->push_back(queue);
    subs_ = std::move(next);
  }
  return std::unique_ptr<FlowSubscription>(new FlowSubscription(this, std::move(queue)));
}

void FlowHub::unsubscribe(const detail::SubscriberQueue* queue) {
  std::shared_ptr<const SubscriberList> old;  // released after the lock
  std::lock_guard lock(mu_);
  auto next = std::make_shared<SubscriberList>();
  for (const auto& q : *subs_) {
    if (q.get() == queue)
      closed_subscriber_drops_ += q->dropped();
    else
      next->push_back(q);
  }
  old = std::move(subs_);
  subs_ = std::move(next);
}

void FlowHub::attachRecorder(std::shared_ptr<Recorder> recorder) {
  std::shared_ptr<Recorder> old;
  std::lock_guard lock(mu_);
  old = std::move(recorder_);
  recorder_ = std::move(recorder);
}

std::vector<FlowEventPtr> FlowHub::recent(const FlowFilter& filter, size_t limit) const {
  std::vector<FlowEventPtr> all;
  {
    std::lock_guard lock(mu_);
    all.reserve(ring_size_);
    size_t first = (ring_next_ + ring_.size() - ring_size_) % ring_.size();
    for (size_t i = 0; i < ring_size_; ++i) all.push_back(ring_[(first + i) % ring_.size()]);
  }
  if (filter.matchesAll()) {
    if (limit > 0 && all.size() > limit) all.erase(all.begin(), all.end() - limit);
    return all;
  }
  std::vector<FlowEventPtr> out;
  // Walk newest first so `limit` keeps the newest matches, then restore id order.
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    if (limit > 0 && out.size() >= limit) break;
    if (filter.matches(**it)) out.push_back(*it);
  }
  std::reverse(out.begin(), out.end());
  return out;
}

FlowHubStats FlowHub::stats() const {
  FlowHubStats s;
  std::shared_ptr<const SubscriberList> subs;
  std::shared_ptr<Recorder> recorder;
  {
    std::lock_guard lock(mu_);
    s.emitted = next_id_ - 1;
    s.ring_size = ring_size_;
    s.subscriber_dropped = closed_subscriber_drops_;
    subs = subs_;
    recorder = recorder_;
  }
  for (const auto& q : *subs) {
    s.subscribers.push_back(q->stats());
    s.subscriber_dropped += s.subscribers.back().dropped;
  }
  if (recorder) s.recorder_dropped = recorder->stats().dropped;
  return s;
}

}  // namespace sandbank::flow
