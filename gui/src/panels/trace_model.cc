// TraceIndex and TraceDiagram: recent traces, and one trace drawn as a sequence diagram
// and a waterfall on any QPainter (screen, SVG, PNG).
#include "panels/trace_model.h"

#include <QFile>
#include <QFontMetricsF>
#include <QImage>
#include <QPainter>
#include <QPainterPath>
#include <QPalette>
#include <QSvgGenerator>

#include <algorithm>
#include <cmath>
#include <unordered_set>

namespace sandbank::gui {
namespace {

using Style = flow::SequenceRow::Style;

std::string shortMethod(const std::string& method) {
  auto slash = method.rfind('/');
  return slash == std::string::npos ? method : method.substr(slash + 1);
}

QString offsetText(int64_t us) {
  if (std::llabs(us) < 1000) return QString("+%1µs").arg(us);
  if (std::llabs(us) < 10'000'000) return QString("+%1ms").arg(us / 1000.0, 0, 'f', 1);
  return QString("+%1s").arg(us / 1e6, 0, 'f', 2);
}

QString timelineLabel(const flow::FlowEvent& e) {
  QString what;
  if (!e.method.empty()) {
    what = QString::fromStdString(shortMethod(e.method));
  } else if (!e.topic.empty()) {
    what = QString::fromStdString(e.topic);
  }
  if (!e.table.empty()) what += (what.isEmpty() ? "" : " ") + QString::fromStdString(e.table);
  QString route = QString::fromStdString(e.source);
  if (!e.destination.empty() && e.destination != e.source) route += " → " + QString::fromStdString(e.destination);
  auto k = flow::flowKindName(e.kind);
  return QString::fromUtf8(k.data(), static_cast<int>(k.size())) + "  " + route + "  " + what;
}

void arrowHead(QPainter& p, QPointF tip, double dir, bool open, const QColor& color) {
  const double len = 7, half = 4;
  QPointF a(tip.x() - dir * len, tip.y() - half), b(tip.x() - dir * len, tip.y() + half);
  if (open) {
    p.drawLine(a, tip);
    p.drawLine(b, tip);
  } else {
    QPainterPath path;
    path.moveTo(tip);
    path.lineTo(a);
    path.lineTo(b);
    path.closeSubpath();
    p.fillPath(path, color);
  }
}

}  // namespace

// ---- TraceIndex ----

void TraceIndex::add(const flow::FlowEvent& e, bool* added) {
  if (e.trace_id.empty()) return;
  auto it = traces_.find(e.trace_id);
  if (it == traces_.end()) {
    if (traces_.size() >= max_traces_ && !by_first_id_.empty()) {
      traces_.erase(by_first_id_.begin()->second);
      by_first_id_.erase(by_first_id_.begin());
    }
    it = traces_.emplace(e.trace_id, Entry{}).first;
    TraceSummary& s = it->second.summary;
    s.trace_id = e.trace_id;
    s.first_id = e.id;
    s.first_sim_us = e.start_sim_us;
    s.last_sim_us = e.end_sim_us;
    QString root = QString::fromStdString(e.source);
    if (!e.destination.empty()) root += " → " + QString::fromStdString(e.destination);
    std::string what = !e.method.empty() ? shortMethod(e.method) : e.topic;
    if (!what.empty()) root += " " + QString::fromStdString(what);
    s.root = root.toStdString();
    by_first_id_.emplace(e.id, e.trace_id);
    if (added) *added = true;
  }
  Entry& entry = it->second;
  entry.summary.events++;
  if (e.status != "OK" || e.kind == flow::FlowKind::kFault) entry.summary.errors++;
  entry.summary.first_sim_us = std::min(entry.summary.first_sim_us, e.start_sim_us);
  entry.summary.last_sim_us = std::max(entry.summary.last_sim_us, e.end_sim_us);
  if (entry.events.size() < max_events_) {
    entry.events.push_back(e);
    entry.events.back().payload.clear();  // the diagram never shows payloads
  }
}

bool TraceIndex::add(const FlowBatch& batch) {
  bool added = false;
  if (!batch) return false;
  for (const auto& e : *batch) add(e, &added);
  return added;
}

std::vector<TraceSummary> TraceIndex::recent(size_t n) const {
  std::vector<TraceSummary> out;
  for (auto it = by_first_id_.rbegin(); it != by_first_id_.rend() && out.size() < n; ++it) {
    out.push_back(traces_.at(it->second).summary);
  }
  return out;
}

const std::vector<flow::FlowEvent>* TraceIndex::eventsOf(const std::string& trace_id) const {
  auto it = traces_.find(trace_id);
  return it == traces_.end() ? nullptr : &it->second.events;
}

const TraceSummary* TraceIndex::summary(const std::string& trace_id) const {
  auto it = traces_.find(trace_id);
  return it == traces_.end() ? nullptr : &it->second.summary;
}

// ---- colours ----

DiagramColors DiagramColors::fromPalette(const QPalette& pal) {
  DiagramColors c;
  c.background = pal.color(QPalette::Base);
  c.text = pal.color(QPalette::Text);
  const bool dark = c.background.lightness() < 128;
  c.muted = dark ? QColor(150, 150, 150) : QColor(110, 110, 110);
  c.lifeline = dark ? QColor(90, 90, 90) : QColor(190, 190, 190);
  c.header = dark ? QColor(45, 60, 80) : QColor(225, 235, 248);
  c.header_text = c.text;
  c.arrow = dark ? QColor(140, 180, 240) : QColor(40, 80, 160);
  c.async = dark ? QColor(120, 200, 150) : QColor(30, 120, 70);
  c.failed = QColor(224, 64, 64);
  c.fault = QColor(240, 150, 0);
  c.selected = dark ? QColor(255, 255, 255, 40) : QColor(40, 100, 220, 40);
  return c;
}

DiagramColors DiagramColors::light() {
  QPalette pal;
  pal.setColor(QPalette::Base, Qt::white);
  pal.setColor(QPalette::Text, Qt::black);
  return fromPalette(pal);
}

// ---- TraceDiagram ----

void TraceDiagram::setEvents(std::vector<flow::FlowEvent> events) {
  std::sort(events.begin(), events.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  events_ = std::move(events);
  model_ = flow::buildSequence(events_);
  start_us_ = end_us_ = 0;
  if (!events_.empty()) {
    start_us_ = events_.front().start_sim_us;
    end_us_ = events_.front().end_sim_us;
    for (const auto& e : events_) {
      start_us_ = std::min(start_us_, e.start_sim_us);
      end_us_ = std::max(end_us_, std::max(e.end_sim_us, e.start_sim_us));
    }
  }
}

bool TraceDiagram::merge(const std::vector<flow::FlowEvent>& more) {
  std::unordered_set<uint64_t> have;
  for (const auto& e : events_) have.insert(e.id);
  std::vector<flow::FlowEvent> all = events_;
  bool any = false;
  for (const auto& e : more) {
    if (have.insert(e.id).second) {
      all.push_back(e);
      any = true;
    }
  }
  if (any) setEvents(std::move(all));
  return any;
}

QSizeF TraceDiagram::sequenceSize() const {
  const double w = kTimeGutter + std::max<size_t>(model_.participants.size(), 1) * kColumn + 40;
  const double h = kHeader + 10 + static_cast<double>(model_.rows.size()) * kRow + 14;
  return {w, h};
}

void TraceDiagram::paintSequence(QPainter& p, const DiagramColors& c, uint64_t selected) const {
  p.save();
  p.setRenderHint(QPainter::Antialiasing, true);
  const QSizeF size = sequenceSize();
  QFont font = p.font();
  QFont small = font;
  small.setPointSizeF(std::max(6.0, font.pointSizeF() * 0.85));
  const QFontMetricsF fm(small);
  const double bottom = size.height() - 6;

  // Lifelines and their heads.
  for (size_t i = 0; i < model_.participants.size(); ++i) {
    const double x = participantX(i);
    p.setPen(QPen(c.lifeline, 1, Qt::DashLine));
    p.drawLine(QPointF(x, kHeader), QPointF(x, bottom));
    QRectF box(x - kColumn / 2 + 6, 4, kColumn - 12, kHeader - 10);
    p.setPen(QPen(c.lifeline, 1));
    p.setBrush(c.header);
    p.drawRoundedRect(box, 4, 4);
    p.setPen(c.header_text);
    p.setFont(font);
    p.drawText(box, Qt::AlignCenter,
               QFontMetricsF(font).elidedText(QString::fromStdString(model_.participants[i]), Qt::ElideMiddle, box.width() - 6));
  }
  p.setBrush(Qt::NoBrush);
  p.setFont(small);

  for (size_t r = 0; r < model_.rows.size(); ++r) {
    const flow::SequenceRow& row = model_.rows[r];
    const double y = kHeader + 10 + static_cast<double>(r) * kRow + kRow * 0.7;
    if (selected != 0 && row.event_id == selected) {
      p.fillRect(QRectF(0, y - kRow * 0.7, size.width(), kRow), c.selected);
    }
    p.setPen(c.muted);
    p.drawText(QRectF(2, y - kRow * 0.7, kTimeGutter - 8, kRow), Qt::AlignRight | Qt::AlignVCenter,
               offsetText(row.offset_us));
    QColor color = row.failed ? c.failed : (row.style == Style::kAsync ? c.async : c.arrow);
    if (row.fault) color = c.fault;
    const QString label = QString::fromStdString(row.label) +
                          (row.failed && row.style != Style::kMarker && !row.fault ? "  ✗" : "");
    if (row.style == Style::kMarker) {
      const double x = participantX(row.from);
      const QString text = (row.fault ? "⚡ " : "") + QString::fromStdString(row.note);
      const double tw = std::min(fm.horizontalAdvance(text) + 10, kColumn * 2.5);
      QRectF box(x - 5, y - kRow * 0.55, tw, kRow * 0.8);
      p.setPen(QPen(color, 1));
      QColor fill = color;
      fill.setAlpha(40);
      p.setBrush(fill);
      p.drawRect(box);
      p.setBrush(Qt::NoBrush);
      p.setPen(row.fault || row.failed ? color : c.text);
      p.drawText(box.adjusted(5, 0, -2, 0), Qt::AlignVCenter | Qt::AlignLeft,
                 fm.elidedText(text, Qt::ElideRight, box.width() - 7));
      continue;
    }
    const double x1 = participantX(row.from), x2 = participantX(row.to);
    QPen pen(color, row.failed ? 1.6 : 1.2, row.style == Style::kReturn ? Qt::DashLine : Qt::SolidLine);
    p.setPen(pen);
    if (row.from == row.to) {  // a call to itself: a small loop to the right
      QPainterPath loop;
      loop.moveTo(x1, y - 6);
      loop.lineTo(x1 + 30, y - 6);
      loop.lineTo(x1 + 30, y + 4);
      loop.lineTo(x1 + 2, y + 4);
      p.drawPath(loop);
      p.setPen(QPen(color, 1.2));
      arrowHead(p, QPointF(x1 + 2, y + 4), -1, row.style != Style::kCall, color);
      p.setPen(row.failed ? c.failed : c.text);
      p.drawText(QPointF(x1 + 36, y), label);
      continue;
    }
    p.drawLine(QPointF(x1, y), QPointF(x2, y));
    const double dir = x2 > x1 ? 1 : -1;
    p.setPen(QPen(color, 1.2));
    arrowHead(p, QPointF(x2, y), dir, row.style != Style::kCall, color);
    p.setPen(row.failed ? c.failed : c.text);
    const double left = std::min(x1, x2), width = std::abs(x2 - x1);
    p.drawText(QRectF(left + 4, y - kRow * 0.75, width - 8, kRow * 0.7), Qt::AlignHCenter | Qt::AlignBottom,
               fm.elidedText(label, Qt::ElideRight, std::max(width - 8, 60.0)));
  }
  p.restore();
}

std::vector<const flow::FlowEvent*> TraceDiagram::timelineOrder() const {
  std::vector<const flow::FlowEvent*> out;
  out.reserve(events_.size());
  for (const auto& e : events_) out.push_back(&e);
  std::stable_sort(out.begin(), out.end(), [](const auto* a, const auto* b) {
    return a->start_sim_us != b->start_sim_us ? a->start_sim_us < b->start_sim_us : a->id < b->id;
  });
  return out;
}

QSizeF TraceDiagram::timelineSize(double width) const {
  return {std::max(width, kBarLabel + 200), kBarRow * 1.6 + static_cast<double>(events_.size()) * kBarRow + 8};
}

void TraceDiagram::paintTimeline(QPainter& p, const DiagramColors& c, double width, uint64_t selected) const {
  p.save();
  p.setRenderHint(QPainter::Antialiasing, true);
  const QSizeF size = timelineSize(width);
  QFont small = p.font();
  small.setPointSizeF(std::max(6.0, small.pointSizeF() * 0.85));
  p.setFont(small);
  const QFontMetricsF fm(small);
  const double x0 = kBarLabel, x1 = size.width() - 12;
  const double span = std::max<int64_t>(spanUs(), 1);
  auto xOf = [&](int64_t us) { return x0 + (static_cast<double>(us - start_us_) / span) * (x1 - x0); };
  const double top = kBarRow * 1.6;

  // Axis: five ticks over the trace's simulated time.
  for (int i = 0; i <= 4; ++i) {
    const double x = x0 + (x1 - x0) * i / 4.0;
    p.setPen(QPen(c.lifeline, 1, Qt::DotLine));
    p.drawLine(QPointF(x, top - 4), QPointF(x, size.height()));
    p.setPen(c.muted);
    const QString t = offsetText(static_cast<int64_t>(span * i / 4.0));
    const double tw = fm.horizontalAdvance(t);
    p.drawText(QPointF(std::clamp(x - tw / 2, x0, x1 - tw), top - 8), t);
  }
  p.setPen(c.muted);
  p.drawText(QPointF(4, top - 8), "span (simulated time)");

  const auto order = timelineOrder();
  for (size_t i = 0; i < order.size(); ++i) {
    const flow::FlowEvent& e = *order[i];
    const double y = top + static_cast<double>(i) * kBarRow;
    if (selected != 0 && e.id == selected) p.fillRect(QRectF(0, y, size.width(), kBarRow), c.selected);
    const bool failed = e.status != "OK";
    const bool fault = e.kind == flow::FlowKind::kFault;
    QColor color = fault ? c.fault : failed ? c.failed : (e.kind == flow::FlowKind::kPublish || e.kind == flow::FlowKind::kDeliver || e.kind == flow::FlowKind::kCommit) ? c.async : c.arrow;
    p.setPen(failed ? c.failed : c.text);
    p.drawText(QRectF(4, y, kBarLabel - 10, kBarRow), Qt::AlignVCenter | Qt::AlignLeft,
               fm.elidedText((fault ? "⚡ " : "") + timelineLabel(e), Qt::ElideRight, kBarLabel - 10));
    const double bx = xOf(e.start_sim_us), bw = std::max(xOf(e.end_sim_us) - bx, 0.0);
    if (e.end_sim_us > e.start_sim_us && bw >= 3) {
      QColor fill = color;
      fill.setAlpha(170);
      p.fillRect(QRectF(bx, y + 3, bw, kBarRow - 6), fill);
      const QString d = offsetText(e.end_sim_us - e.start_sim_us).mid(1);
      if (fm.horizontalAdvance(d) + 6 < x1 - (bx + bw)) {
        p.setPen(c.muted);
        p.drawText(QPointF(bx + bw + 4, y + kBarRow - 5), d);
      }
    } else {  // a point in time: a diamond
      QPainterPath d;
      d.moveTo(bx, y + 3);
      d.lineTo(bx + 5, y + kBarRow / 2);
      d.lineTo(bx, y + kBarRow - 3);
      d.lineTo(bx - 5, y + kBarRow / 2);
      d.closeSubpath();
      p.fillPath(d, color);
    }
  }
  p.restore();
}

QSizeF TraceDiagram::exportSize() const {
  const QSizeF s = sequenceSize();
  const double w = std::max(s.width(), 900.0);
  return {w, s.height() + 20 + timelineSize(w).height()};
}

void TraceDiagram::paintExport(QPainter& p, const DiagramColors& c) const {
  const QSizeF size = exportSize();
  p.fillRect(QRectF(QPointF(0, 0), size), c.background);
  paintSequence(p, c);
  p.save();
  p.translate(0, sequenceSize().height() + 20);
  paintTimeline(p, c, size.width());
  p.restore();
}

uint64_t TraceDiagram::eventAtSequence(QPointF pos) const {
  const double top = kHeader + 10;
  if (pos.y() < top) return 0;
  const auto r = static_cast<size_t>((pos.y() - top) / kRow);
  if (r >= model_.rows.size()) return 0;
  const flow::SequenceRow& row = model_.rows[r];
  // Anywhere between the two lifelines (or on the marker) counts as the arrow.
  const double a = participantX(std::min(row.from, row.to)) - 12;
  const double b = std::max(participantX(std::max(row.from, row.to)), participantX(row.from) + kColumn * 2.5) + 12;
  return pos.x() >= a && pos.x() <= b ? row.event_id : 0;
}

uint64_t TraceDiagram::eventAtTimeline(QPointF pos) const {
  const double top = kBarRow * 1.6;
  if (pos.y() < top) return 0;
  const auto i = static_cast<size_t>((pos.y() - top) / kBarRow);
  const auto order = timelineOrder();
  return i < order.size() ? order[i]->id : 0;
}

Status TraceDiagram::exportSvg(const QString& path, const QString& title) const {
  if (empty()) return FailedPrecondition("no trace to export");
  QSvgGenerator svg;
  svg.setFileName(path);
  const QSizeF size = exportSize();
  svg.setSize(size.toSize());
  svg.setViewBox(QRectF(QPointF(0, 0), size));
  svg.setTitle(title.isEmpty() ? QString("trace") : title);
  svg.setDescription("Sequence diagram and span timeline of one trace, drawn by sandbank-gui");
  QPainter p;
  if (!p.begin(&svg)) return Internal("cannot write " + path.toStdString());
  paintExport(p, DiagramColors::light());
  p.end();
  if (!QFile::exists(path)) return Internal("cannot write " + path.toStdString());
  return OkStatus();
}

Status TraceDiagram::exportPng(const QString& path) const {
  if (empty()) return FailedPrecondition("no trace to export");
  const QSizeF size = exportSize();
  QImage image(size.toSize() * 2, QImage::Format_ARGB32_Premultiplied);
  image.setDevicePixelRatio(2);
  image.fill(Qt::white);
  QPainter p(&image);
  paintExport(p, DiagramColors::light());
  p.end();
  if (!image.save(path, "PNG")) return Internal("cannot write " + path.toStdString());
  return OkStatus();
}

Status TraceDiagram::exportMermaid(const QString& path) const {
  if (empty()) return FailedPrecondition("no trace to export");
  QFile f(path);
  if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate)) {
    return Internal("cannot write " + path.toStdString() + ": " + f.errorString().toStdString());
  }
  const std::string text = flow::renderMermaid(events_);
  if (f.write(text.data(), static_cast<qint64>(text.size())) != static_cast<qint64>(text.size())) {
    return Internal("cannot write " + path.toStdString() + ": " + f.errorString().toStdString());
  }
  return OkStatus();
}

}  // namespace sandbank::gui
