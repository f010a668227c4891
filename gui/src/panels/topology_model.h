// TopologyGraph: the Topology panel's model - the services, bus topics and store nodes
// seen in the flow (plus those the bank lists), the edges between them with a traffic
// rate that decays when the traffic stops, and an error level that flags failing edges;
// and a deterministic layout: topics on the left, services in the middle, store nodes on
// the right. Time is passed in (seconds on any monotonic clock), so tests drive it.
// Thread-safety: UI thread only (a value without internal locking).
#pragma once

#include <QPointF>
#include <QRectF>
#include <QSizeF>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "flow_feed.h"

namespace sandbank::gui {

struct TopologyNode {
  enum class Kind { kTopic = 0, kService = 1, kStore = 2 };  // also the layout column
  Kind kind = Kind::kService;
  std::string name;
  bool down = false;      // a store node the bank reports down, a service not running
  uint64_t events = 0;    // events seen from or to it
};

struct TopologyEdge {
  size_t from = 0;  // node indexes
  size_t to = 0;
  uint64_t count = 0;
  uint64_t errors = 0;
  double level = 0;        // decayed event count; rate = level / kTau
  double error_level = 0;  // decayed error count
  double updated_s = 0;    // when the levels were last decayed
  double rate() const;     // events per second, recent
  bool failing() const;    // an error in the last few seconds
};

class TopologyGraph {
 public:
  static constexpr double kTau = 2.0;  // seconds: how fast a pulse fades

  // Adds the batch's events at time `now_s`; returns whether a node or edge was added.
  bool add(const FlowBatch& batch, double now_s);
  bool add(const flow::FlowEvent& e, double now_s);
  // Decays every edge to `now_s`. Returns whether any edge still carries traffic (the
  // view keeps animating while it does).
  bool decay(double now_s);

  // Nodes the bank reports (live), whether or not they had traffic yet.
  size_t ensureNode(TopologyNode::Kind kind, const std::string& name);
  void setDown(TopologyNode::Kind kind, const std::string& name, bool down);

  const std::vector<TopologyNode>& nodes() const { return nodes_; }
  const std::vector<TopologyEdge>& edges() const { return edges_; }
  std::optional<size_t> find(TopologyNode::Kind kind, const std::string& name) const;
  const TopologyEdge* edge(size_t from, size_t to) const;

  // The box each node is drawn in, in a `size` area.
  std::vector<QRectF> layout(QSizeF size) const;
  // The node drawn at `pos` for that layout, if any.
  std::optional<size_t> nodeAt(QPointF pos, QSizeF size) const;

 private:
  size_t edgeIndex(size_t from, size_t to, double now_s);

  std::vector<TopologyNode> nodes_;
  std::map<std::pair<int, std::string>, size_t> node_index_;
  std::vector<TopologyEdge> edges_;
  std::map<std::pair<size_t, size_t>, size_t> edge_index_;
};

}  // namespace sandbank::gui
