// GuiContext: what every panel is given - the control client (null when a recording is
// open), the shared flow feed, and the Selection through which panels steer each other
// (a click on a service in the topology filters the messages; a failed scenario step
// opens its trace).
// Thread-safety: UI thread only.
#pragma once

#include <QObject>
#include <QString>

#include <string>

namespace sandbank::control {
class Simulator;
}  // namespace sandbank::control

namespace sandbank::gui {

class ControlClient;
class FlowFeed;

class Selection : public QObject {
  Q_OBJECT

 public:
  using QObject::QObject;
  const QString& service() const { return service_; }
  const QString& trace() const { return trace_; }
  quint64 event() const { return event_; }

 public Q_SLOTS:
  // Empty: no service focused (the panels show everything).
  void focusService(const QString& service) {
    if (service == service_) return;
    service_ = service;
    Q_EMIT serviceFocused(service_);
  }
  void selectTrace(const QString& trace_id) {
    trace_ = trace_id;
    Q_EMIT traceSelected(trace_);
  }
  // An event (and its trace) chosen in one panel, to be shown by the others.
  void selectEvent(quint64 event_id, const QString& trace_id) {
    event_ = event_id;
    Q_EMIT eventSelected(event_id);
    if (!trace_id.isEmpty()) selectTrace(trace_id);
  }

 Q_SIGNALS:
  void serviceFocused(const QString& service);
  void traceSelected(const QString& trace_id);
  void eventSelected(quint64 event_id);

 private:
  QString service_;
  QString trace_;
  quint64 event_ = 0;
};

struct GuiContext {
  ControlClient* client = nullptr;        // null: a recording is open, nothing to steer
  FlowFeed* feed = nullptr;               // never null
  Selection* selection = nullptr;         // never null
  control::Simulator* simulator = nullptr;  // set when the bank runs in this process
  std::string recording;                  // the recording open (or being written), if any
  std::string manifest;                   // the manifest of the run
  std::string scenarios_dir;              // where the Scenarios panel looks
  std::string run_state;                  // the run-state file (control address, token); live only
  std::string bin_dir;                    // where the services and sandbank.desc are
  bool live() const { return client != nullptr; }
};

}  // namespace sandbank::gui
