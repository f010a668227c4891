// TopologyGraph: nodes and edges from flow events, decaying traffic rates, the layout.
#include "panels/topology_model.h"

#include <algorithm>
#include <cmath>

namespace sandbank::gui {
namespace {

using Kind = TopologyNode::Kind;

constexpr double kFailingLevel = 0.05;  // an error within ~6 s (kTau * ln 20)
constexpr double kQuietLevel = 0.01;

// Brings an edge's levels to `now_s`, then adds one event (and one error).
void bump(TopologyEdge& edge, double now_s, bool traffic, bool error) {
  const double dt = std::max(0.0, now_s - edge.updated_s);
  const double f = std::exp(-dt / TopologyGraph::kTau);
  edge.level *= f;
  edge.error_level *= f;
  edge.updated_s = std::max(edge.updated_s, now_s);
  if (traffic) {
    edge.count++;
    edge.level += 1;
  }
  if (error) {
    edge.errors++;
    edge.error_level += 1;
  }
}

// "card-processor-1" (an instance or a store client id) -> "card-processor".
std::string serviceOf(const std::string& name) {
  size_t dash = name.rfind('-');
  if (dash == std::string::npos || dash == 0 || dash + 1 >= name.size()) return name;
  for (size_t i = dash + 1; i < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9') return name;
  }
  return name.substr(0, dash);
}

}  // namespace

double TopologyEdge::rate() const { return level / TopologyGraph::kTau; }
bool TopologyEdge::failing() const { return error_level > kFailingLevel; }

size_t TopologyGraph::ensureNode(Kind kind, const std::string& name) {
  auto key = std::make_pair(static_cast<int>(kind), name);
  auto it = node_index_.find(key);
  if (it != node_index_.end()) return it->second;
  nodes_.push_back(TopologyNode{.kind = kind, .name = name});
  node_index_.emplace(key, nodes_.size() - 1);
  return nodes_.size() - 1;
}

void TopologyGraph::setDown(Kind kind, const std::string& name, bool down) {
  nodes_[ensureNode(kind, name)].down = down;
}

std::optional<size_t> TopologyGraph::find(Kind kind, const std::string& name) const {
  auto it = node_index_.find(std::make_pair(static_cast<int>(kind), name));
  if (it == node_index_.end()) return std::nullopt;
  return it->second;
}

const TopologyEdge* TopologyGraph::edge(size_t from, size_t to) const {
  auto it = edge_index_.find({from, to});
  return it == edge_index_.end() ? nullptr : &edges_[it->second];
}

size_t TopologyGraph::edgeIndex(size_t from, size_t to, double now_s) {
  auto it = edge_index_.find({from, to});
  if (it != edge_index_.end()) return it->second;
  edges_.push_back(TopologyEdge{.from = from, .to = to, .updated_s = now_s});
  edge_index_.emplace(std::make_pair(from, to), edges_.size() - 1);
  return edges_.size() - 1;
}

bool TopologyGraph::add(const flow::FlowEvent& e, double now_s) {
  const size_t nodes_before = nodes_.size(), edges_before = edges_.size();
  std::optional<size_t> from, to;
  auto service = [&](const std::string& name) -> std::optional<size_t> {
    if (name.empty() || name == "bus" || name == "supervisor") return std::nullopt;
    return ensureNode(Kind::kService, serviceOf(name));
  };
  switch (e.kind) {
    case flow::FlowKind::kRpc:
      from = service(e.source);
      to = service(e.destination);
      break;
    case flow::FlowKind::kPublish:
      from = service(e.source);
      if (!e.topic.empty()) to = ensureNode(Kind::kTopic, e.topic);
      break;
    case flow::FlowKind::kDeliver:
      if (!e.topic.empty()) from = ensureNode(Kind::kTopic, e.topic);
      to = service(e.destination);
      break;
    case flow::FlowKind::kCommit:  // the consumer's node and the topic exist; no edge of its own
      service(e.source);
      if (!e.topic.empty()) ensureNode(Kind::kTopic, e.topic);
      break;
    case flow::FlowKind::kStoreRequest:
      from = service(e.source);
      if (!e.destination.empty()) to = ensureNode(Kind::kStore, e.destination);
      break;
    case flow::FlowKind::kReplicaWrite:
    case flow::FlowKind::kReplicaRead:
    case flow::FlowKind::kHint:
    case flow::FlowKind::kRepair:
      if (!e.source.empty()) from = ensureNode(Kind::kStore, e.source);
      if (!e.destination.empty()) to = ensureNode(Kind::kStore, e.destination);
      break;
    case flow::FlowKind::kFault:
    case flow::FlowKind::kProcess:
    case flow::FlowKind::kLog:
    case flow::FlowKind::kRebalance:
      // Faults count against the edge they hit when it exists; the rest only name nodes.
      if (e.kind == flow::FlowKind::kFault) {
        auto a = find(Kind::kService, serviceOf(e.source)), b = find(Kind::kService, serviceOf(e.destination));
        if (a && b) {
          bump(edges_[edgeIndex(*a, *b, now_s)], now_s, false, true);
        }
      } else if (e.kind == flow::FlowKind::kProcess) {
        service(e.destination);  // supervisor -> the instance
      } else if (e.kind == flow::FlowKind::kLog) {
        service(e.source);
      }
      break;
  }
  if (from) nodes_[*from].events++;
  if (to && to != from) nodes_[*to].events++;
  if (from && to && *from != *to) {
    bump(edges_[edgeIndex(*from, *to, now_s)], now_s, true, e.status != "OK");
  }
  return nodes_.size() != nodes_before || edges_.size() != edges_before;
}

bool TopologyGraph::add(const FlowBatch& batch, double now_s) {
  bool grew = false;
  if (!batch) return false;
  for (const auto& e : *batch) grew = add(e, now_s) || grew;
  return grew;
}

bool TopologyGraph::decay(double now_s) {
  bool active = false;
  for (auto& e : edges_) {
    const double dt = now_s - e.updated_s;
    if (dt > 0) {
      const double f = std::exp(-dt / kTau);
      e.level *= f;
      e.error_level *= f;
      e.updated_s = now_s;
    }
    if (e.level > kQuietLevel || e.error_level > kQuietLevel) active = true;
  }
  return active;
}

std::vector<QRectF> TopologyGraph::layout(QSizeF size) const {
  // Each column in name order, so the same nodes always land in the same places. A column
  // with more nodes than fit in its height splits into side-by-side sub-columns.
  std::vector<std::vector<size_t>> columns(3);
  for (size_t i = 0; i < nodes_.size(); ++i) columns[static_cast<int>(nodes_[i].kind)].push_back(i);
  for (auto& c : columns) {
    std::sort(c.begin(), c.end(), [this](size_t a, size_t b) { return nodes_[a].name < nodes_[b].name; });
  }
  std::vector<QRectF> out(nodes_.size());
  const double bands[3][2] = {{0.01, 0.31}, {0.34, 0.66}, {0.69, 0.99}};  // fractions of the width
  const double top = 30, bottom = size.height() - 8, h = 20, pitch = 26;
  const size_t fit = std::max<size_t>(1, static_cast<size_t>((bottom - top) / pitch));
  for (int c = 0; c < 3; ++c) {
    const auto& col = columns[c];
    if (col.empty()) continue;
    const size_t subs = (col.size() + fit - 1) / fit;
    const size_t per = (col.size() + subs - 1) / subs;
    const double left = size.width() * bands[c][0], band = size.width() * (bands[c][1] - bands[c][0]);
    const double sub_w = band / static_cast<double>(subs);
    const double w = std::min(170.0, sub_w - 6);
    const double step = std::min((bottom - top) / static_cast<double>(per), 60.0);
    const double first = top + ((bottom - top) - step * static_cast<double>(per)) / 2;
    for (size_t k = 0; k < col.size(); ++k) {
      const size_t sub = k / per, row = k % per;
      const double cx = left + sub_w * (static_cast<double>(sub) + 0.5);
      const double cy = first + step * (static_cast<double>(row) + 0.5);
      out[col[k]] = QRectF(cx - w / 2, cy - h / 2, w, h);
    }
  }
  return out;
}

std::optional<size_t> TopologyGraph::nodeAt(QPointF pos, QSizeF size) const {
  const auto at = layout(size);
  for (size_t i = 0; i < at.size(); ++i) {
    if (at[i].adjusted(-2, -2, 2, 2).contains(pos)) return i;
  }
  return std::nullopt;
}

}  // namespace sandbank::gui
