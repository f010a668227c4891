// The Trace panel's models. TraceIndex remembers the recent traces seen in the flow (for
// the picker, newest first, and so a recording's trace can be drawn without a bank).
// TraceDiagram lays out one trace as a sequence diagram - from flow::buildSequence, the
// same model `sandbank flow --dump` draws - and as a waterfall of spans against simulated
// time, and paints both on any QPainter, so the screen, SVG and PNG share one drawing.
// Thread-safety: UI thread only (values without internal locking).
#pragma once

#include <QColor>
#include <QPointF>
#include <QSizeF>
#include <QString>

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "flow_feed.h"
#include "sandbank/core/status.h"
#include "sandbank/flow/flow_dump.h"

class QPainter;
class QPalette;

namespace sandbank::gui {

struct TraceSummary {
  std::string trace_id;
  uint64_t first_id = 0;      // the trace's first event seen: traces sort by it
  int64_t first_sim_us = 0;
  int64_t last_sim_us = 0;
  size_t events = 0;
  size_t errors = 0;          // events not OK, and faults
  std::string root;           // "card-processor → card Authorise": the first event, short
};

class TraceIndex {
 public:
  static constexpr size_t kMaxTraces = 500;
  static constexpr size_t kMaxEventsPerTrace = 5000;

  explicit TraceIndex(size_t max_traces = kMaxTraces, size_t max_events = kMaxEventsPerTrace)
      : max_traces_(max_traces), max_events_(max_events) {}

  // Adds a batch's events that belong to a trace. Returns true when a trace was added.
  bool add(const FlowBatch& batch);
  void add(const flow::FlowEvent& e, bool* added = nullptr);
  // Newest first (by the id of the trace's first event), at most n.
  std::vector<TraceSummary> recent(size_t n) const;
  const std::vector<flow::FlowEvent>* eventsOf(const std::string& trace_id) const;
  const TraceSummary* summary(const std::string& trace_id) const;
  size_t size() const { return traces_.size(); }

 private:
  struct Entry {
    TraceSummary summary;
    std::vector<flow::FlowEvent> events;
  };
  size_t max_traces_;
  size_t max_events_;
  std::unordered_map<std::string, Entry> traces_;
  std::map<uint64_t, std::string> by_first_id_;  // oldest first: evicted from the front
};

struct DiagramColors {
  QColor background, text, muted, lifeline, header, header_text, arrow, async, failed, fault, selected;
  static DiagramColors fromPalette(const QPalette& palette);
  static DiagramColors light();  // exports: readable on any page
};

class TraceDiagram {
 public:
  // Geometry, in pixels.
  static constexpr double kTimeGutter = 78;   // offsets down the left
  static constexpr double kColumn = 150;      // distance between lifelines
  static constexpr double kHeader = 34;       // participant boxes
  static constexpr double kRow = 22;
  static constexpr double kBarRow = 18;       // timeline rows
  static constexpr double kBarLabel = 300;    // timeline label column

  void setEvents(std::vector<flow::FlowEvent> events);  // rebuilds the model
  // Adds events not yet held (by id); returns whether any was new.
  bool merge(const std::vector<flow::FlowEvent>& events);
  void clear() { setEvents({}); }
  const flow::SequenceModel& model() const { return model_; }
  const std::vector<flow::FlowEvent>& events() const { return events_; }
  bool empty() const { return events_.empty(); }
  int64_t spanUs() const { return end_us_ - start_us_; }

  QSizeF sequenceSize() const;
  QSizeF timelineSize(double width) const;
  // Paints the sequence diagram with its top-left at (0,0); `selected` is highlighted.
  void paintSequence(QPainter& p, const DiagramColors& c, uint64_t selected = 0) const;
  // Paints the waterfall `width` wide with its top-left at (0,0).
  void paintTimeline(QPainter& p, const DiagramColors& c, double width, uint64_t selected = 0) const;
  // The sequence diagram above the timeline, as exported.
  QSizeF exportSize() const;
  void paintExport(QPainter& p, const DiagramColors& c) const;
  // The event under a point (0 when none).
  uint64_t eventAtSequence(QPointF pos) const;
  uint64_t eventAtTimeline(QPointF pos) const;

  Status exportSvg(const QString& path, const QString& title = {}) const;
  Status exportPng(const QString& path) const;
  Status exportMermaid(const QString& path) const;

 private:
  double participantX(size_t i) const { return kTimeGutter + kColumn / 2 + static_cast<double>(i) * kColumn; }
  std::vector<const flow::FlowEvent*> timelineOrder() const;

  std::vector<flow::FlowEvent> events_;
  flow::SequenceModel model_;
  int64_t start_us_ = 0;
  int64_t end_us_ = 0;
};

}  // namespace sandbank::gui
