// FlowFeed: SubscribeFlow (or a recording) -> batches on the UI thread, one per frame.
#include "flow_feed.h"

#include <chrono>

#include "control_client.h"
#include "control_stubs.h"
#include "sandbank/control/flow_proto.h"
#include "sandbank/flow/flow_query.h"

namespace sandbank::gui {
namespace {

constexpr int kFrameMs = 16;

}  // namespace

FlowFeed::FlowFeed(ControlClient* client, QObject* parent) : QObject(parent), client_(client) {}
FlowFeed::FlowFeed(std::string recording_path, QObject* parent)
    : QObject(parent), recording_(std::move(recording_path)) {}
FlowFeed::FlowFeed(QObject* parent) : QObject(parent) {}

FlowFeed::~FlowFeed() { stop(); }

void FlowFeed::start() {
  qRegisterMetaType<FlowBatch>();
  connect(&frame_, &QTimer::timeout, this, &FlowFeed::drain);
  frame_.start(kFrameMs);
  since_tick_.start();
  connect(&second_, &QTimer::timeout, this, [this] {
    const double secs = std::max(0.001, since_tick_.restart() / 1000.0);
    rate_ = static_cast<double>(received_ - received_at_last_tick_) / secs;
    received_at_last_tick_ = received_;
    Q_EMIT stats(rate_, lost_.load(), connected_.load());
  });
  second_.start(1000);
  if (client_ != nullptr) {
    reader_ = std::thread([this] { readLoop(); });
  } else if (!recording_.empty()) {
    reader_ = std::thread([this] {
      auto q = flow::RecordingFlowQuery::open(recording_);
      if (!q.ok()) {
        std::lock_guard lock(mu_);
        errors_.push_back(QString::fromStdString(recording_ + ": " + q.status().message()));
        return;
      }
      auto events = (*q)->events(flow::FlowFilter{});
      if (!events.ok()) {
        std::lock_guard lock(mu_);
        errors_.push_back(QString::fromStdString(recording_ + ": " + events.status().message()));
        return;
      }
      inject(std::move(*events));
    });
  }
}

void FlowFeed::stop() {
  stopping_ = true;
  {
    std::lock_guard lock(mu_);
    if (active_call_ != nullptr) static_cast<grpc::ClientContext*>(active_call_)->TryCancel();
  }
  if (reader_.joinable()) reader_.join();
  frame_.stop();
  second_.stop();
}

void FlowFeed::inject(std::vector<flow::FlowEvent> events) {
  std::lock_guard lock(mu_);
  if (pending_.empty()) {
    pending_ = std::move(events);
  } else {
    pending_.insert(pending_.end(), std::make_move_iterator(events.begin()), std::make_move_iterator(events.end()));
  }
}

void FlowFeed::drain() {
  std::vector<flow::FlowEvent> out;
  std::vector<QString> errors;
  {
    std::lock_guard lock(mu_);
    out.swap(pending_);
    errors.swap(errors_);
  }
  for (const QString& e : errors) Q_EMIT error(e);
  if (out.empty()) return;
  received_ += out.size();
  Q_EMIT batch(std::make_shared<const std::vector<flow::FlowEvent>>(std::move(out)));
}

void FlowFeed::readLoop() {
  Stubs& stubs = client_->stubs();
  uint64_t last_id = 0;
  int failures = 0;
  while (!stopping_) {
    // History first (only what is newer than what we already have), then the live stream.
    {
      sandbank::control::FlowQueryRequest q;
      q.mutable_filter()->set_limit(static_cast<uint32_t>(kHistory));
      auto ctx = stubs.context(std::chrono::seconds(10));
      sandbank::control::FlowEvents history;
      grpc::Status s = stubs.control->QueryFlow(ctx.get(), q, &history);
      if (s.ok()) {
        std::vector<flow::FlowEvent> events;
        events.reserve(history.events_size());
        for (const auto& e : history.events()) {
          if (e.id() <= last_id) continue;
          events.push_back(control::flowEventFromProto(e));
          last_id = e.id();
        }
        if (!events.empty()) inject(std::move(events));
      }
    }
    auto ctx = stubs.context(std::chrono::milliseconds(0));
    {
      std::lock_guard lock(mu_);
      if (stopping_) break;
      active_call_ = ctx.get();
    }
    sandbank::control::FlowFilter all;
    auto reader = stubs.control->SubscribeFlow(ctx.get(), all);
    sandbank::control::FlowEvents msg;
    bool any = false;
    while (reader->Read(&msg)) {
      connected_ = true;
      any = true;
      failures = 0;
      lost_ += msg.lost();
      std::vector<flow::FlowEvent> events;
      events.reserve(msg.events_size());
      for (const auto& e : msg.events()) {
        if (e.id() <= last_id) continue;  // already delivered by the history
        events.push_back(control::flowEventFromProto(e));
        last_id = e.id();
      }
      if (!events.empty()) inject(std::move(events));
    }
    grpc::Status s = reader->Finish();
    connected_ = false;
    {
      std::lock_guard lock(mu_);
      active_call_ = nullptr;
      if (!stopping_ && !s.ok() && s.error_code() != grpc::StatusCode::CANCELLED && !any && failures == 0) {
        errors_.push_back("flow subscription: " + describe(s));
      }
    }
    if (stopping_) break;
    // Back off a little on repeated failures (the simulator may be restarting).
    ++failures;
    for (int i = 0; i < std::min(failures, 10) * 5 && !stopping_; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
}

}  // namespace sandbank::gui
