// FlowFeed: the one stream of flow events every panel reads. Live, it subscribes to the
// control API's SubscribeFlow on its own thread (after loading the newest history with
// QueryFlow) and reconnects when the stream ends; from a recording, it reads the file's
// events. Either way events reach the UI thread in batches, at most once per frame, as
// `batch`; the feed keeps no copy itself (each panel keeps what it needs, bounded).
// Thread-safety: public methods and signals on the UI thread; the reader thread only
// appends to pending_ under mu_.
#pragma once

#include <QElapsedTimer>
#include <QObject>
#include <QString>
#include <QTimer>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "sandbank/flow/flow_event.h"

namespace sandbank::gui {

class ControlClient;

using FlowBatch = std::shared_ptr<const std::vector<flow::FlowEvent>>;

class FlowFeed : public QObject {
  Q_OBJECT

 public:
  static constexpr size_t kHistory = 20000;  // newest events loaded when a live feed starts

  // A live feed over `client` (not owned; must outlive the feed).
  explicit FlowFeed(ControlClient* client, QObject* parent = nullptr);
  // A feed that replays a recording file's events in one go when started.
  explicit FlowFeed(std::string recording_path, QObject* parent = nullptr);
  // A feed whose events come only from inject() (tests, benchmarks).
  FlowFeed(QObject* parent = nullptr);
  ~FlowFeed() override;

  void start();
  void stop();  // idempotent
  bool live() const { return client_ != nullptr; }
  const std::string& recordingPath() const { return recording_; }

  // Adds events as if they had arrived from the stream (any thread).
  void inject(std::vector<flow::FlowEvent> events);

  uint64_t received() const { return received_; }  // events delivered so far (UI thread)
  uint64_t lost() const { return lost_.load(); }    // dropped by the server: this reader fell behind
  double eventsPerSecond() const { return rate_; }
  bool connected() const { return connected_.load(); }

 Q_SIGNALS:
  void batch(sandbank::gui::FlowBatch events);  // ascending by id
  // Once a second: the rate over the last second, events lost so far, stream state.
  void stats(double events_per_second, quint64 lost, bool connected);
  void error(QString message);  // a recording that cannot be read, a refused subscription

 private:
  void drain();
  void readLoop();

  ControlClient* client_ = nullptr;
  std::string recording_;
  QTimer frame_;
  QTimer second_;
  uint64_t received_ = 0;
  uint64_t received_at_last_tick_ = 0;
  double rate_ = 0;
  QElapsedTimer since_tick_;

  std::mutex mu_;
  std::vector<flow::FlowEvent> pending_;  // guarded by mu_
  std::vector<QString> errors_;           // guarded by mu_
  std::atomic<uint64_t> lost_{0};
  std::atomic<bool> connected_{false};
  std::atomic<bool> stopping_{false};
  void* active_call_ = nullptr;  // grpc::ClientContext of the open stream; guarded by mu_
  std::thread reader_;
};

}  // namespace sandbank::gui

Q_DECLARE_METATYPE(sandbank::gui::FlowBatch)
