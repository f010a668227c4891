// BusProducer and BusConsumer over sandbank.bus.Bus.
//
//   send() -> open_[topic] --(full or linger)--> ready_ --sender thread--> ProducePipeline
//                                                  ^                             |
//                                                  +-- retriable error ----- reader thread -> on_ack
//
// Thread-safety: each Impl has one mutex (mu_) guarding its queues and counters; gRPC
// writes and reads happen outside it on the sender and reader threads.
#include "sandbank/kit/bus_client.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "sandbank/bus.grpc.pb.h"
#include "sandbank/kit/trace.h"

namespace sandbank::kit {
namespace {

namespace pb = ::sandbank::bus;
using SteadyClock = std::chrono::steady_clock;

std::shared_ptr<grpc::Channel> busChannel(const std::string& address) {
  grpc::ChannelArguments args;
  // gRPC waits ~1 s before reconnecting by default; the bus may start after its clients.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  // A connection of its own, so a producer and a consumer in one process do not queue
  // behind each other on one socket.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetMaxReceiveMessageSize(64 << 20);
  args.SetMaxSendMessageSize(64 << 20);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
}

Status fromGrpc(const grpc::Status& s) {
  if (s.ok()) return OkStatus();
  return Status(static_cast<StatusCode>(s.error_code()), s.error_message());
}

bool startsWith(const std::string& s, std::string_view prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

Result<std::string> resolveAddress(const std::string& given) {
  if (!given.empty()) return given;
  return busAddress();
}

void setDeadline(grpc::ClientContext& ctx, std::chrono::milliseconds d = std::chrono::seconds(5)) {
  ctx.set_deadline(std::chrono::system_clock::now() + d);
}

}  // namespace

const std::string* BusDelivery::header(const std::string& name) const {
  for (const auto& [k, v] : message.headers) {
    if (k == name) return &v;
  }
  return nullptr;
}

Result<std::string> busAddress(const Config& config) {
  auto v = config.get("SANDBANK_BUS");
  if (!v || v->empty()) {
    return NotFound("SANDBANK_BUS is not set; it should hold the bus address, e.g. 127.0.0.1:7400");
  }
  return *v;
}

// ---- producer ---------------------------------------------------------------------------

class BusProducer::Impl {
 public:
  explicit Impl(BusProducerOptions options, std::shared_ptr<grpc::Channel> channel)
      : options_(std::move(options)), stub_(pb::Bus::NewStub(channel)) {}

  Status init() {
    if (options_.idempotent) {
      grpc::ClientContext ctx;
      setDeadline(ctx, std::chrono::seconds(10));
      ctx.set_wait_for_ready(true);
      pb::InitProducerIdRequest req;
      pb::InitProducerIdResponse resp;
      grpc::Status s = stub_->InitProducerId(&ctx, req, &resp);
      if (!s.ok()) return fromGrpc(s).withContext("bus producer: InitProducerId");
      producer_id_ = resp.producer_id();
    }
    sender_ = std::thread([this] { sendLoop(); });
    reader_ = std::thread([this] { readLoop(); });
    return OkStatus();
  }

  ~Impl() {
    (void)flush(std::chrono::seconds(10));
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      if (stream_) stream_->ctx.TryCancel();
    }
    cv_.notify_all();
    sender_.join();
    reader_.join();
    // Whatever is left failed.
    Completed done;
    {
      std::lock_guard lock(mu_);
      auto failAll = [&](Batch& b) {
        done.failed += static_cast<int64_t>(b.callbacks.size());
        for (auto& cb : b.callbacks) {
          if (cb) done.calls.emplace_back(std::move(cb), BusAck{Unavailable("bus producer closed"), -1, -1, false});
        }
      };
      for (auto& b : ready_) failAll(*b);
      for (auto& [id, b] : in_flight_) failAll(*b);
    }
    finish(done);
  }

  void send(const std::string& topic, BusMessage message, std::function<void(const BusAck&)> on_ack) {
    std::unique_lock lock(mu_);
    OpenBatch& ob = open_[topic];
    if (!ob.request) {
      // A batch and its records live on one arena: one free per batch, not per record.
      ob.arena = std::make_unique<google::protobuf::Arena>();
      ob.request = google::protobuf::Arena::CreateMessage<pb::ProduceRequest>(ob.arena.get());
      ob.request->set_topic(topic);
      ob.request->set_client_id(options_.client_id);
      ob.first_at = SteadyClock::now();
    }
    pb::ProducerRecord* r = ob.request->add_records();
    if (message.key) r->set_key(std::move(*message.key));
    r->set_value(std::move(message.value));
    bool has_trace = false;
    for (auto& [k, v] : message.headers) {
      has_trace |= k == kTraceparentHeader;
      auto* h = r->add_headers();
      h->set_key(std::move(k));
      h->set_value(std::move(v));
    }
    if (!has_trace && currentTrace().valid()) {
      auto* h = r->add_headers();
      h->set_key(kTraceparentHeader);
      h->set_value(formatTraceparent(childOf(currentTrace())));
    }
    if (message.partition >= 0) r->set_partition(message.partition);
    if (message.timestamp_us) r->set_timestamp_us(message.timestamp_us);
    ob.callbacks.push_back(std::move(on_ack));
    ++queued_;
    if (static_cast<size_t>(ob.request->records_size()) >= options_.batch_records) {
      cutLocked(topic, ob);
      open_.erase(topic);
      lock.unlock();
      cv_.notify_all();
    } else if (ob.request->records_size() == 1) {
      lock.unlock();
      cv_.notify_all();  // the sender must arm the linger timer
    }
  }

  Status flush(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    const int64_t target = queued_;
    for (auto& [topic, ob] : open_) cutLocked(topic, ob);
    open_.clear();
    cv_.notify_all();
    if (!done_cv_.wait_for(lock, timeout, [&] { return acked_ + failed_ >= target; })) {
      return DeadlineExceeded("bus producer: " + std::to_string(target - acked_ - failed_) +
                              " record(s) still unacknowledged after flush timeout");
    }
    return OkStatus();
  }

  int64_t acked() const {
    std::lock_guard lock(mu_);
    return acked_;
  }
  int64_t failed() const {
    std::lock_guard lock(mu_);
    return failed_;
  }

 private:
  struct OpenBatch {
    std::unique_ptr<google::protobuf::Arena> arena;
    pb::ProduceRequest* request = nullptr;  // on arena
    std::vector<std::function<void(const BusAck&)>> callbacks;
    SteadyClock::time_point first_at;
  };
  struct Batch {
    uint64_t id = 0;
    std::string topic;
    std::unique_ptr<google::protobuf::Arena> arena;
    pb::ProduceRequest* request = nullptr;  // on arena
    std::vector<std::function<void(const BusAck&)>> callbacks;
    int attempts = 0;
    SteadyClock::time_point not_before{};
  };
  // Callbacks to run outside the lock; the counters move only after they ran, so flush()
  // returning means every callback of the flushed records has finished.
  struct Completed {
    std::vector<std::pair<std::function<void(const BusAck&)>, BusAck>> calls;
    int64_t acked = 0;
    int64_t failed = 0;
  };
  void finish(Completed& c) {
    for (auto& [cb, ack] : c.calls) cb(ack);
    if (c.acked || c.failed) {
      std::lock_guard lock(mu_);
      acked_ += c.acked;
      failed_ += c.failed;
      done_cv_.notify_all();
    }
    c = Completed{};
  }

  struct Stream {
    grpc::ClientContext ctx;
    std::unique_ptr<grpc::ClientReaderWriter<pb::ProduceRequest, pb::ProduceResponse>> rw;
    bool broken = false;
  };

  // Turns an open batch into a numbered, sequenced batch. Requires mu_.
  void cutLocked(const std::string& topic, OpenBatch& ob) {
    auto b = std::make_unique<Batch>();
    b->id = next_batch_id_++;
    b->topic = topic;
    b->arena = std::move(ob.arena);
    b->request = ob.request;
    ob.request = nullptr;
    b->request->set_batch_id(b->id);
    if (producer_id_ > 0) {
      int64_t& seq = next_seq_[topic];
      b->request->set_producer_id(producer_id_);
      b->request->set_base_sequence(seq);
      seq += b->request->records_size();
    }
    b->callbacks = std::move(ob.callbacks);
    ready_.push_back(std::move(b));
  }

  // Puts a batch back for another attempt, or fails it. Requires mu_; appends the
  // callbacks to run (outside the lock) to `calls`.
  void retryOrFailLocked(std::unique_ptr<Batch> b, const Status& why, Completed* done) {
    if (++b->attempts > options_.max_retries) {
      done->failed += static_cast<int64_t>(b->callbacks.size());
      for (auto& cb : b->callbacks) {
        if (cb) done->calls.emplace_back(std::move(cb), BusAck{why, -1, -1, false});
      }
      return;
    }
    const auto backoff = std::min<std::chrono::milliseconds>(
        options_.retry_backoff * (1 << std::min(b->attempts - 1, 5)), std::chrono::seconds(1));
    b->not_before = SteadyClock::now() + backoff;
    ready_.push_back(std::move(b));
    std::sort(ready_.begin(), ready_.end(), [](const auto& x, const auto& y) { return x->id < y->id; });
  }

  void sendLoop() {
    std::unique_lock lock(mu_);
    SteadyClock::time_point reconnect_at{};
    for (;;) {
      const auto now = SteadyClock::now();
      // Cut batches whose linger expired.
      SteadyClock::time_point wake = now + std::chrono::seconds(1);
      for (auto it = open_.begin(); it != open_.end();) {
        if (it->second.first_at + options_.linger <= now) {
          cutLocked(it->first, it->second);
          it = open_.erase(it);
        } else {
          wake = std::min(wake, it->second.first_at + options_.linger);
          ++it;
        }
      }
      if (stopping_ && (ready_.empty() || !stream_)) break;
      if (!stream_ && !ready_.empty() && now >= reconnect_at && !reader_busy_) {
        auto s = std::make_shared<Stream>();
        s->ctx.set_wait_for_ready(true);
        s->rw = stub_->ProducePipeline(&s->ctx);
        stream_ = s;
        reader_busy_ = true;
        reconnect_at = now + std::chrono::milliseconds(100);
        cv_.notify_all();  // the reader picks the stream up
      }
      // Send what may go: in order per topic, respecting retry back-off and in-flight limit.
      std::set<std::string> blocked;
      std::shared_ptr<Stream> s = stream_;
      bool sent = false;
      if (s && !s->broken) {
        for (auto it = ready_.begin(); it != ready_.end() && in_flight_.size() < options_.max_in_flight;) {
          Batch& b = **it;
          if (blocked.count(b.topic)) {
            ++it;
            continue;
          }
          if (b.not_before > now) {
            blocked.insert(b.topic);
            wake = std::min(wake, b.not_before);
            ++it;
            continue;
          }
          std::unique_ptr<Batch> owned = std::move(*it);
          it = ready_.erase(it);
          const pb::ProduceRequest* req = owned->request;
          in_flight_[owned->id] = std::move(owned);
          lock.unlock();
          const bool ok = s->rw->Write(*req);
          lock.lock();
          sent = true;
          if (!ok) {
            s->broken = true;  // the reader will see the stream end and requeue
            break;
          }
          it = ready_.begin();  // the list may have changed while unlocked
          blocked.clear();
        }
      }
      if (stopping_ && ready_.empty() && in_flight_.empty() && open_.empty() && s && !s->broken) {
        lock.unlock();
        s->rw->WritesDone();
        lock.lock();
        break;
      }
      if (sent) continue;
      if (!stream_ && !ready_.empty()) wake = std::min(wake, reconnect_at);
      cv_.wait_until(lock, wake);
    }
  }

  void readLoop() {
    std::unique_lock lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return stopping_ || (stream_ && reader_busy_); });
      if (!stream_) {
        if (stopping_) return;
        continue;
      }
      std::shared_ptr<Stream> s = stream_;
      lock.unlock();
      pb::ProduceResponse resp;
      Completed done;
      while (s->rw->Read(&resp)) {
        lock.lock();
        auto it = in_flight_.find(resp.batch_id());
        if (it != in_flight_.end()) {
          std::unique_ptr<Batch> b = std::move(it->second);
          in_flight_.erase(it);
          if (resp.error().empty()) {
            done.acked += static_cast<int64_t>(b->callbacks.size());
            for (size_t i = 0; i < b->callbacks.size(); ++i) {
              if (!b->callbacks[i]) continue;
              BusAck ack;
              if (static_cast<int>(i) < resp.partitions_size() && static_cast<int>(i) < resp.offsets_size()) {
                ack.partition = resp.partitions(static_cast<int>(i));
                ack.offset = resp.offsets(static_cast<int>(i));
              }
              ack.duplicate = resp.duplicate();
              done.calls.emplace_back(std::move(b->callbacks[i]), ack);
            }
            cv_.notify_all();  // an in-flight slot is free
          } else {
            // Out-of-order sequences follow an earlier batch that failed and is being
            // retried, so they are retried too, behind it.
            const bool retriable = resp.retriable() || resp.error() == "OutOfOrderSequenceNumber";
            Status why(StatusCode::kUnavailable, resp.error_message());
            if (!retriable) b->attempts = options_.max_retries;
            retryOrFailLocked(std::move(b), why, &done);
            cv_.notify_all();
          }
        }
        lock.unlock();
        finish(done);
      }
      grpc::Status st = s->rw->Finish();
      lock.lock();
      // The stream is gone: everything in flight goes back, in order.
      std::vector<std::unique_ptr<Batch>> back;
      for (auto& [id, b] : in_flight_) back.push_back(std::move(b));
      in_flight_.clear();
      for (auto& b : back) {
        retryOrFailLocked(std::move(b), Unavailable("bus stream ended: " + st.error_message()), &done);
      }
      stream_.reset();
      reader_busy_ = false;
      cv_.notify_all();
      lock.unlock();
      finish(done);
      lock.lock();
      if (stopping_) return;
    }
  }

  const BusProducerOptions options_;
  std::unique_ptr<pb::Bus::Stub> stub_;
  int64_t producer_id_ = 0;

  mutable std::mutex mu_;
  std::condition_variable cv_;       // wakes the sender and reader
  std::condition_variable done_cv_;  // wakes flush()
  std::map<std::string, OpenBatch> open_;             // guarded by mu_
  std::deque<std::unique_ptr<Batch>> ready_;          // guarded by mu_; sorted by id
  std::map<uint64_t, std::unique_ptr<Batch>> in_flight_;  // guarded by mu_
  std::map<std::string, int64_t> next_seq_;           // guarded by mu_
  std::shared_ptr<Stream> stream_;                    // guarded by mu_
  bool reader_busy_ = false;                          // guarded by mu_
  bool stopping_ = false;                             // guarded by mu_
  uint64_t next_batch_id_ = 1;                        // guarded by mu_
  int64_t queued_ = 0, acked_ = 0, failed_ = 0;       // guarded by mu_
  std::thread sender_;
  std::thread reader_;
};

BusProducer::BusProducer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
BusProducer::~BusProducer() = default;

Result<std::unique_ptr<BusProducer>> BusProducer::create(BusProducerOptions options) {
  auto address = resolveAddress(options.address);
  if (!address.ok()) return address.status();
  if (options.batch_records == 0) options.batch_records = 1;
  if (options.max_in_flight == 0) options.max_in_flight = 1;
  auto impl = std::make_unique<Impl>(options, busChannel(*address));
  SANDBANK_RETURN_IF_ERROR(impl->init());
  return std::unique_ptr<BusProducer>(new BusProducer(std::move(impl)));
}

void BusProducer::send(const std::string& topic, BusMessage message,
                       std::function<void(const BusAck&)> on_ack) {
  impl_->send(topic, std::move(message), std::move(on_ack));
}
Status BusProducer::flush(std::chrono::milliseconds timeout) { return impl_->flush(timeout); }
int64_t BusProducer::acked() const { return impl_->acked(); }
int64_t BusProducer::failed() const { return impl_->failed(); }

// ---- consumer ---------------------------------------------------------------------------

class BusConsumer::Impl {
 public:
  Impl(BusConsumerOptions options, BusHandler handler, std::shared_ptr<grpc::Channel> channel)
      : options_(std::move(options)), handler_(std::move(handler)), stub_(pb::Bus::NewStub(channel)) {}

  Status joinFirst() { return join(); }
  void startThread() { thread_ = std::thread([this] { run(); }); }

  void stop() {
    {
      std::lock_guard lock(mu_);
      if (stopped_) return;
      stopped_ = true;
      stopping_ = true;
      if (consume_ctx_) consume_ctx_->TryCancel();
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    std::string member;
    {
      std::lock_guard lock(mu_);
      member = member_id_;
    }
    if (!member.empty()) {
      grpc::ClientContext ctx;
      setDeadline(ctx, std::chrono::seconds(2));
      pb::LeaveGroupRequest req;
      req.set_group(options_.group);
      req.set_member_id(member);
      pb::Empty resp;
      (void)stub_->LeaveGroup(&ctx, req, &resp);
    }
  }

  BusConsumerStats stats() const {
    std::lock_guard lock(mu_);
    return stats_;
  }
  std::string memberId() const {
    std::lock_guard lock(mu_);
    return member_id_;
  }
  int32_t generation() const {
    std::lock_guard lock(mu_);
    return generation_;
  }

 private:
  Status join() {
    pb::JoinGroupRequest req;
    req.set_group(options_.group);
    {
      std::lock_guard lock(mu_);
      req.set_member_id(member_id_);
    }
    req.set_client_id(options_.client_id);
    for (const auto& t : options_.topics) req.add_topics(t);
    req.set_session_timeout_ms(static_cast<int32_t>(options_.session_timeout.count()));
    req.set_assignor(options_.assignor);
    req.set_auto_offset_reset(options_.auto_offset_reset);
    req.set_max_delivery_attempts(options_.max_delivery_attempts);
    pb::GroupMembership m;
    grpc::ClientContext ctx;
    setDeadline(ctx, std::chrono::seconds(10));
    ctx.set_wait_for_ready(true);
    grpc::Status s = stub_->JoinGroup(&ctx, req, &m);
    if (!s.ok()) {
      if (startsWith(s.error_message(), "UnknownMemberId")) {
        std::lock_guard lock(mu_);
        member_id_.clear();
      }
      return fromGrpc(s).withContext("bus consumer: JoinGroup " + options_.group);
    }
    std::lock_guard lock(mu_);
    member_id_ = m.member_id();
    generation_ = m.generation();
    return OkStatus();
  }

  bool sleepUnlessStopped(std::chrono::milliseconds d) {
    std::unique_lock lock(mu_);
    return !cv_.wait_for(lock, d, [&] { return stopped_; });
  }

  void run() {
    bool joined = true;  // start() joined already
    while (true) {
      {
        std::lock_guard lock(mu_);
        if (stopped_) return;
      }
      if (!joined) {
        if (!join().ok()) {
          if (!sleepUnlessStopped(std::chrono::milliseconds(200))) return;
          continue;
        }
        std::lock_guard lock(mu_);
        ++stats_.rejoins;
      }
      joined = false;
      consumeStream();
    }
  }

  void consumeStream() {
    auto ctx = std::make_unique<grpc::ClientContext>();
    pb::ConsumeRequest req;
    {
      std::lock_guard lock(mu_);
      if (stopped_) return;
      consume_ctx_ = ctx.get();
      req.set_member_id(member_id_);
      req.set_generation(generation_);
    }
    req.set_group(options_.group);
    req.set_max_records(options_.max_batch);
    req.set_max_wait_ms(100);
    auto reader = stub_->Consume(ctx.get(), req);
    // After a nack, records of that partition are skipped until the redelivery of the
    // expected offset arrives (records prefetched behind the failed one come again).
    std::map<std::pair<std::string, int32_t>, int64_t> expect;
    for (;;) {
      // One arena per batch: a batch is thousands of small messages.
      google::protobuf::Arena arena;
      pb::ConsumeBatch& batch = *google::protobuf::Arena::CreateMessage<pb::ConsumeBatch>(&arena);
      if (!reader->Read(&batch)) break;
      if (batch.has_membership()) {
        std::lock_guard lock(mu_);
        generation_ = batch.membership().generation();
        ++stats_.rebalances;
        expect.clear();
      }
      handleBatch(batch, expect);
    }
    grpc::Status st = reader->Finish();
    {
      std::lock_guard lock(mu_);
      consume_ctx_ = nullptr;
      if (stopped_) return;
      if (startsWith(st.error_message(), "UnknownMemberId")) member_id_.clear();
    }
    sleepUnlessStopped(std::chrono::milliseconds(100));
  }

  void handleBatch(pb::ConsumeBatch& batch, std::map<std::pair<std::string, int32_t>, int64_t>& expect) {
    std::map<std::pair<std::string, int32_t>, int64_t> done;  // next offset to commit
    std::string member;
    {
      std::lock_guard lock(mu_);
      member = member_id_;
      stats_.delivered += batch.records_size();
    }
    int64_t handled = 0;  // added to stats_ once per batch, not under the lock per record
    struct AddHandled {
      Impl* self;
      int64_t* n;
      ~AddHandled() {
        std::lock_guard lock(self->mu_);
        self->stats_.handled += *n;
      }
    } add_handled{this, &handled};
    for (auto& r : *batch.mutable_records()) {
      // Stopping mid-batch is safe: whatever is not committed is delivered again.
      if (stopping_.load(std::memory_order_relaxed)) break;
      const auto tp = std::make_pair(r.topic(), r.partition());
      auto ex = expect.find(tp);
      if (ex != expect.end()) {
        if (r.offset() != ex->second) continue;
        expect.erase(ex);
      }
      BusDelivery d;
      d.topic = r.topic();
      d.partition = r.partition();
      d.offset = r.offset();
      d.delivery_attempt = r.delivery_attempt();
      d.append_us = r.append_us();
      if (r.has_key()) d.message.key = std::move(*r.mutable_key());
      d.message.value = std::move(*r.mutable_value());
      d.message.partition = r.partition();
      d.message.timestamp_us = r.timestamp_us();
      for (auto& h : *r.mutable_headers()) {
        d.message.headers.emplace_back(std::move(*h.mutable_key()), std::move(*h.mutable_value()));
      }
      Status result;
      {
        std::optional<TraceScope> scope;
        if (const std::string* tp_header = d.header(kTraceparentHeader)) {
          if (auto ctx = parseTraceparent(*tp_header)) scope.emplace(*ctx);
        }
        result = handler_(d);
      }
      if (result.ok()) {
        done[tp] = r.offset() + 1;
        ++handled;
        continue;
      }
      {
        std::lock_guard lock(mu_);
        ++stats_.failed;
      }
      if (options_.retry_backoff.count() > 0 && !sleepUnlessStopped(options_.retry_backoff)) return;
      done.erase(tp);  // the nack acknowledges everything before this record
      pb::NackRequest nack;
      nack.set_group(options_.group);
      nack.set_member_id(member);
      nack.set_generation(batch.generation());
      nack.set_topic(r.topic());
      nack.set_partition(r.partition());
      nack.set_offset(r.offset());
      nack.set_reason(result.message());
      pb::NackResponse outcome;
      grpc::ClientContext ctx;
      setDeadline(ctx);
      grpc::Status s = stub_->Nack(&ctx, nack, &outcome);
      expect[tp] = s.ok() && outcome.dead_lettered() ? r.offset() + 1 : r.offset();
      if (s.ok() && outcome.dead_lettered()) {
        std::lock_guard lock(mu_);
        ++stats_.dead_lettered;
      }
    }
    if (done.empty()) return;
    pb::CommitRequest commit;
    commit.set_group(options_.group);
    commit.set_member_id(member);
    commit.set_generation(batch.generation());
    for (const auto& [tp, offset] : done) {
      auto* o = commit.add_offsets();
      o->set_topic(tp.first);
      o->set_partition(tp.second);
      o->set_offset(offset);
    }
    pb::Empty empty;
    grpc::ClientContext ctx;
    setDeadline(ctx);
    grpc::Status s = stub_->Commit(&ctx, commit, &empty);
    std::lock_guard lock(mu_);
    if (s.ok()) {
      ++stats_.commits;
    } else {
      ++stats_.commit_failures;  // records will come again to whoever owns them now
    }
  }

  const BusConsumerOptions options_;
  const BusHandler handler_;
  std::unique_ptr<pb::Bus::Stub> stub_;
  std::thread thread_;

  mutable std::mutex mu_;
  std::condition_variable cv_;                   // signalled on stop
  bool stopped_ = false;                         // guarded by mu_
  std::atomic<bool> stopping_{false};            // stopped_, readable without mu_
  grpc::ClientContext* consume_ctx_ = nullptr;   // guarded by mu_; the open Consume call
  std::string member_id_;                        // guarded by mu_
  int32_t generation_ = 0;                       // guarded by mu_
  BusConsumerStats stats_;                       // guarded by mu_
};

BusConsumer::BusConsumer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
BusConsumer::~BusConsumer() { stop(); }

Result<std::unique_ptr<BusConsumer>> BusConsumer::start(BusConsumerOptions options, BusHandler handler) {
  if (options.group.empty()) return InvalidArgument("bus consumer: group is empty");
  if (options.topics.empty()) return InvalidArgument("bus consumer: no topics to subscribe to");
  if (!handler) return InvalidArgument("bus consumer: no handler");
  auto address = resolveAddress(options.address);
  if (!address.ok()) return address.status();
  auto impl = std::make_unique<Impl>(std::move(options), std::move(handler), busChannel(*address));
  SANDBANK_RETURN_IF_ERROR(impl->joinFirst());
  impl->startThread();
  return std::unique_ptr<BusConsumer>(new BusConsumer(std::move(impl)));
}

void BusConsumer::stop() { impl_->stop(); }
BusConsumerStats BusConsumer::stats() const { return impl_->stats(); }
std::string BusConsumer::memberId() const { return impl_->memberId(); }
int32_t BusConsumer::generation() const { return impl_->generation(); }

}  // namespace sandbank::kit
