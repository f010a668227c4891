// TopologyPanel: the custom-painted graph over TopologyGraph, fed by the flow and, when
// live, by the bank's own lists of services, topics and store nodes.
#include "panels/topology_panel.h"

#include <QLabel>
#include <QMouseEvent>
#include <QPainter>
#include <QPainterPath>
#include <QTimer>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

#include "control_client.h"
#include "control_stubs.h"
#include "panel_registry.h"

namespace sandbank::gui {
namespace {

using Kind = TopologyNode::Kind;

constexpr int kFrameMs = 33;          // at most ~30 repaints a second
constexpr int kInventoryMs = 5000;    // how often the bank's lists are read again

struct Inventory {
  Reply<sandbank::control::ListServicesResponse> services;
  Reply<sandbank::bus::DescribeTopicsResponse> topics;
  Reply<sandbank::store::NodeStatsResponse> nodes;
};

QColor kindColor(Kind k, bool dark) {
  switch (k) {
    case Kind::kTopic: return dark ? QColor(70, 120, 90) : QColor(205, 235, 215);
    case Kind::kService: return dark ? QColor(55, 75, 110) : QColor(220, 230, 250);
    case Kind::kStore: return dark ? QColor(110, 85, 55) : QColor(248, 228, 200);
  }
  return {};
}

}  // namespace

// ---- TopologyView ----

TopologyView::TopologyView(TopologyGraph& graph, QWidget* parent) : QWidget(parent), graph_(graph) {
  setAutoFillBackground(true);
  setBackgroundRole(QPalette::Base);
  setMinimumSize(240, 200);
  setMouseTracking(false);
}

void TopologyView::setFocused(const QString& name) {
  if (focused_ == name) return;
  focused_ = name;
  update();
}

void TopologyView::setEmptyText(const QString& text) {
  empty_text_ = text;
  update();
}

void TopologyView::mousePressEvent(QMouseEvent* event) {
  auto hit = graph_.nodeAt(event->position(), size());
  Q_EMIT nodeClicked(hit ? QString::fromStdString(graph_.nodes()[*hit].name) : QString());
}

void TopologyView::paintEvent(QPaintEvent*) {
  QPainter p(this);
  p.setRenderHint(QPainter::Antialiasing, true);
  const QPalette pal = palette();
  const bool dark = pal.color(QPalette::Base).lightness() < 128;
  const QColor text = pal.color(QPalette::Text);
  const QColor muted = dark ? QColor(150, 150, 150) : QColor(110, 110, 110);
  const QColor red(224, 64, 64);
  const QColor edge_color = dark ? QColor(140, 180, 240) : QColor(40, 80, 160);

  if (graph_.nodes().empty()) {
    p.setPen(muted);
    p.drawText(rect().adjusted(12, 12, -12, -12), Qt::AlignCenter | Qt::TextWordWrap, empty_text_);
    return;
  }
  QFont small = font();
  small.setPointSizeF(std::max(6.0, small.pointSizeF() * 0.85));
  p.setFont(small);
  const QFontMetricsF fm(small);

  // Column titles.
  p.setPen(muted);
  const char* titles[3] = {"bus topics", "services", "store nodes"};
  const double xs[3] = {width() * 0.16, width() * 0.5, width() * 0.84};
  for (int c = 0; c < 3; ++c) {
    p.drawText(QRectF(xs[c] - 60, 4, 120, 18), Qt::AlignCenter, titles[c]);
  }

  const auto at = graph_.layout(size());
  std::optional<size_t> focused;
  for (size_t i = 0; i < graph_.nodes().size(); ++i) {
    if (!focused_.isEmpty() && QString::fromStdString(graph_.nodes()[i].name) == focused_) focused = i;
  }

  // Edges first, under the nodes: quiet edges faint and thin, busy ones bold.
  for (const TopologyEdge& e : graph_.edges()) {
    const QPointF a = at[e.from].center(), b = at[e.to].center();
    const double rate = e.rate();
    const double busy = rate / (rate + 3.0);  // 0..1
    const bool touches_focus = focused && (e.from == *focused || e.to == *focused);
    QColor c = e.failing() ? red : edge_color;
    c.setAlphaF(std::clamp(0.18 + 0.82 * busy + (touches_focus ? 0.25 : 0.0), 0.0, 1.0));
    const double w = 1.0 + 5.0 * busy + (e.failing() ? 1.0 : 0.0);
    QPainterPath path;
    path.moveTo(a);
    QPointF ctrl = (a + b) / 2;
    if (std::abs(a.x() - b.x()) < width() * 0.2) {  // same column: bow out to the side
      ctrl.rx() += (a.y() < b.y() ? 1 : -1) * std::clamp(std::abs(a.y() - b.y()) * 0.6, 30.0, width() * 0.3);
    } else {
      ctrl.ry() -= 12;
    }
    path.quadTo(ctrl, b);
    p.setPen(QPen(c, w, Qt::SolidLine, Qt::RoundCap));
    p.setBrush(Qt::NoBrush);
    p.drawPath(path);
    // An arrowhead at the target's box edge, along the curve's last direction.
    const QRectF box = at[e.to];
    double t = 0.98;
    for (double s = 0.5; s < 1.0; s += 0.02) {
      if (box.adjusted(-2, -2, 2, 2).contains(path.pointAtPercent(s))) {
        t = s;
        break;
      }
    }
    const QPointF tip = path.pointAtPercent(t), back = path.pointAtPercent(std::max(0.0, t - 0.04));
    const double ang = std::atan2(tip.y() - back.y(), tip.x() - back.x());
    const double len = 7 + w;
    QPainterPath head;
    head.moveTo(tip);
    head.lineTo(tip - QPointF(std::cos(ang - 0.4) * len, std::sin(ang - 0.4) * len));
    head.lineTo(tip - QPointF(std::cos(ang + 0.4) * len, std::sin(ang + 0.4) * len));
    head.closeSubpath();
    p.fillPath(head, c);
  }

  // Nodes.
  for (size_t i = 0; i < graph_.nodes().size(); ++i) {
    const TopologyNode& n = graph_.nodes()[i];
    const QRectF box = at[i];
    const bool is_focus = focused && *focused == i;
    QColor fill = kindColor(n.kind, dark);
    if (n.down) fill = dark ? QColor(60, 60, 60) : QColor(225, 225, 225);
    p.setBrush(fill);
    p.setPen(QPen(is_focus ? QColor(255, 170, 0) : (dark ? QColor(120, 120, 120) : QColor(150, 150, 150)),
                  is_focus ? 3 : 1));
    const double radius = n.kind == Kind::kService ? 5 : n.kind == Kind::kTopic ? box.height() / 2 : 2;
    p.drawRoundedRect(box, radius, radius);
    if (n.kind == Kind::kStore) {  // a disk: a line under the top
      p.drawLine(QPointF(box.left() + 3, box.top() + 5), QPointF(box.right() - 3, box.top() + 5));
    }
    p.setPen(n.down ? muted : text);
    QString label = QString::fromStdString(n.name);
    if (n.down) label += " (down)";
    p.drawText(box.adjusted(4, 0, -4, 0), Qt::AlignCenter, fm.elidedText(label, Qt::ElideMiddle, box.width() - 8));
  }
}

// ---- TopologyPanel ----

TopologyPanel::TopologyPanel(GuiContext& context, QWidget* parent) : QWidget(parent), context_(context) {
  clock_.start();
  view_ = new TopologyView(graph_);
  view_->setEmptyText(context_.live() ? "No services yet: waiting for the bank's first events."
                                      : "This recording holds no events between services.");
  status_ = new QLabel;
  status_->setWordWrap(true);
  status_->setStyleSheet("color: #e04040; padding: 2px 6px;");
  status_->hide();
  auto* hint = new QLabel("Click a node to focus it everywhere; click empty space to clear.");
  hint->setStyleSheet("color: gray; padding: 2px 6px;");
  hint->setWordWrap(true);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->setSpacing(0);
  layout->addWidget(status_);
  layout->addWidget(view_, 1);
  layout->addWidget(hint);

  frame_ = new QTimer(this);
  frame_->setInterval(kFrameMs);
  connect(frame_, &QTimer::timeout, this, &TopologyPanel::onFrame);
  frame_->start();

  connect(context_.feed, &FlowFeed::batch, this, &TopologyPanel::onBatch);
  connect(view_, &TopologyView::nodeClicked, context_.selection, &Selection::focusService);
  connect(context_.selection, &Selection::serviceFocused, view_, &TopologyView::setFocused);
  view_->setFocused(context_.selection->service());

  if (context_.live()) {
    inventory_ = new QTimer(this);
    inventory_->setInterval(kInventoryMs);
    connect(inventory_, &QTimer::timeout, this, &TopologyPanel::fetchInventory);
    inventory_->start();
    fetchInventory();
  }
}

void TopologyPanel::onBatch(const FlowBatch& batch) {
  graph_.add(batch, now());
  dirty_ = true;
}

void TopologyPanel::onFrame() {
  // Repaint when events arrived, and while edges are still fading; idle otherwise.
  if (!dirty_ && !animating_) return;
  animating_ = graph_.decay(now());
  dirty_ = false;
  view_->update();
}

void TopologyPanel::fetchInventory() {
  if (fetching_) return;
  fetching_ = true;
  context_.client->call(
      this,
      [](Stubs& s) {
        Inventory inv;
        inv.services = unary(s.control, &sandbank::control::Control::Stub::ListServices, s,
                             sandbank::control::ListServicesRequest{});
        inv.topics = unary(s.bus, &sandbank::bus::Bus::Stub::DescribeTopics, s, sandbank::bus::DescribeTopicsRequest{});
        inv.nodes = unary(s.store, &sandbank::store::Store::Stub::GetNodeStats, s, sandbank::store::Empty{});
        return inv;
      },
      [this](Inventory inv) {
        fetching_ = false;
        QStringList errors;
        if (inv.services.ok()) {
          std::map<std::string, bool> running;  // service -> any instance up
          for (const auto& i : inv.services.value.instances()) {
            const bool up = i.state() == "running" || i.state() == "healthy" || i.state() == "starting" ||
                            i.state() == "unhealthy";
            running[i.service()] = running[i.service()] || up;
          }
          for (const auto& [name, up] : running) graph_.setDown(Kind::kService, name, !up);
        } else {
          errors << "services: " + describe(inv.services.status);
        }
        if (inv.topics.ok()) {
          for (const auto& t : inv.topics.value.topics()) graph_.ensureNode(Kind::kTopic, t.name());
        } else {
          errors << "bus topics: " + describe(inv.topics.status);
        }
        if (inv.nodes.ok()) {
          for (const auto& n : inv.nodes.value.nodes()) graph_.setDown(Kind::kStore, n.name(), !n.up() || n.isolated());
        } else {
          errors << "store nodes: " + describe(inv.nodes.status);
        }
        status_->setVisible(!errors.isEmpty());
        status_->setText("Could not read " + errors.join("; "));
        dirty_ = true;
      });
}

SANDBANK_GUI_PANEL({.id = "topology",
                    .title = "Topology",
                    .order = 40,
                    .area = Qt::RightDockWidgetArea,
                    .shortcut = {},
                    .needs_live = false,
                    .create = [](GuiContext& c, QWidget* parent) -> QWidget* { return new TopologyPanel(c, parent); }})

}  // namespace sandbank::gui
