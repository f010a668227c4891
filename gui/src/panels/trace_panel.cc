// TracePanel: trace picker, sequence diagram + waterfall canvases and the export buttons.
#include "panels/trace_panel.h"

#include <QAbstractItemView>
#include <QComboBox>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QLabel>
#include <QMouseEvent>
#include <QPainter>
#include <QPushButton>
#include <QScrollArea>
#include <QSplitter>
#include <QTimer>
#include <QVBoxLayout>

#include "control_client.h"
#include "control_stubs.h"
#include "panel_registry.h"
#include "panels/messages_model.h"
#include "sandbank/control/flow_proto.h"

namespace sandbank::gui {

// ---- TraceCanvas ----

TraceCanvas::TraceCanvas(const TraceDiagram& diagram, Part part, QWidget* parent)
    : QWidget(parent), diagram_(diagram), part_(part) {
  setAutoFillBackground(true);
  setBackgroundRole(QPalette::Base);
  relayout();
}

void TraceCanvas::setSelected(uint64_t id) {
  if (selected_ == id) return;
  selected_ = id;
  update();
}

void TraceCanvas::setEmptyText(const QString& text) {
  empty_text_ = text;
  update();
}

QSize TraceCanvas::sizeHint() const {
  if (diagram_.empty()) return {300, 120};
  const QSizeF s = part_ == Part::kSequence ? diagram_.sequenceSize() : diagram_.timelineSize(TraceDiagram::kBarLabel + 300);
  return s.toSize();
}

void TraceCanvas::relayout() {
  if (diagram_.empty()) {
    setMinimumSize(200, 80);
  } else if (part_ == Part::kSequence) {
    setMinimumSize(diagram_.sequenceSize().toSize());
  } else {
    setMinimumSize(QSize(static_cast<int>(TraceDiagram::kBarLabel + 200),
                         static_cast<int>(diagram_.timelineSize(width()).height())));
  }
  updateGeometry();
  update();
}

void TraceCanvas::resizeEvent(QResizeEvent* event) {
  QWidget::resizeEvent(event);
  update();
}

void TraceCanvas::paintEvent(QPaintEvent*) {
  QPainter p(this);
  const DiagramColors colors = DiagramColors::fromPalette(palette());
  if (diagram_.empty()) {
    p.setPen(colors.muted);
    p.drawText(rect().adjusted(10, 10, -10, -10), Qt::AlignCenter | Qt::TextWordWrap, empty_text_);
    return;
  }
  if (part_ == Part::kSequence) {
    diagram_.paintSequence(p, colors, selected_);
  } else {
    diagram_.paintTimeline(p, colors, width(), selected_);
  }
}

void TraceCanvas::mousePressEvent(QMouseEvent* event) {
  const uint64_t id = part_ == Part::kSequence ? diagram_.eventAtSequence(event->position())
                                               : diagram_.eventAtTimeline(event->position());
  if (id != 0) Q_EMIT eventClicked(id);
}

// ---- TracePanel ----

TracePanel::TracePanel(GuiContext& context, QWidget* parent) : QWidget(parent), context_(context) {
  picker_ = new QComboBox;
  picker_->setMinimumContentsLength(40);
  picker_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
  picker_->setToolTip("Recent traces, newest first");
  picker_->setPlaceholderText("no traces seen yet");
  summary_ = new QLabel;
  summary_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  message_ = new QLabel;
  message_->setWordWrap(true);
  message_->hide();
  svg_ = new QPushButton("SVG…");
  png_ = new QPushButton("PNG…");
  mermaid_ = new QPushButton("Mermaid…");
  svg_->setToolTip("Save the diagram and timeline as SVG");
  png_->setToolTip("Save the diagram and timeline as PNG");
  mermaid_->setToolTip("Save the sequence diagram as Mermaid text");

  auto* bar = new QHBoxLayout;
  bar->setContentsMargins(4, 4, 4, 0);
  bar->addWidget(new QLabel("Trace"));
  bar->addWidget(picker_, 3);
  bar->addWidget(summary_, 2);
  bar->addStretch();
  bar->addWidget(svg_);
  bar->addWidget(png_);
  bar->addWidget(mermaid_);

  sequence_ = new TraceCanvas(diagram_, TraceCanvas::Part::kSequence);
  timeline_ = new TraceCanvas(diagram_, TraceCanvas::Part::kTimeline);
  auto scroll = [](QWidget* w) {
    auto* s = new QScrollArea;
    s->setWidget(w);
    s->setWidgetResizable(true);
    s->setBackgroundRole(QPalette::Base);
    return s;
  };
  auto* split = new QSplitter(Qt::Horizontal);
  split->addWidget(scroll(sequence_));
  split->addWidget(scroll(timeline_));
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 2);
  split->setSizes({600, 400});

  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->setSpacing(2);
  layout->addLayout(bar);
  layout->addWidget(message_);
  layout->addWidget(split, 1);

  picker_timer_ = new QTimer(this);
  picker_timer_->setInterval(500);
  connect(picker_timer_, &QTimer::timeout, this, [this] {
    if (picker_dirty_) refreshPicker();
  });
  picker_timer_->start();

  connect(picker_, &QComboBox::activated, this, [this](int i) {
    const QString id = picker_->itemData(i).toString();
    if (id.isEmpty()) return;
    picked_by_user_ = true;
    context_.selection->selectTrace(id);
  });
  auto clicked = [this](quint64 id) {
    sequence_->setSelected(id);
    timeline_->setSelected(id);
    context_.selection->selectEvent(id, trace_);
  };
  connect(sequence_, &TraceCanvas::eventClicked, this, clicked);
  connect(timeline_, &TraceCanvas::eventClicked, this, clicked);
  connect(svg_, &QPushButton::clicked, this, [this] { exportAs("svg"); });
  connect(png_, &QPushButton::clicked, this, [this] { exportAs("png"); });
  connect(mermaid_, &QPushButton::clicked, this, [this] { exportAs("mmd"); });

  connect(context_.feed, &FlowFeed::batch, this, &TracePanel::onBatch);
  connect(context_.selection, &Selection::traceSelected, this, [this](const QString& id) {
    if (id.isEmpty() || id == trace_) return;
    picked_by_user_ = true;
    showTrace(id);
  });
  connect(context_.selection, &Selection::eventSelected, this, [this](quint64 id) {
    sequence_->setSelected(id);
    timeline_->setSelected(id);
  });
  setDiagram({});
}

void TracePanel::onBatch(const FlowBatch& batch) {
  if (index_.add(batch)) picker_dirty_ = true;
  if (trace_.isEmpty() && !picked_by_user_ && index_.size() > 0) {
    // Until the user picks one, show a recent trace: a useful first picture, and it does
    // not steer the other panels.
    // Among the newest traces, one that failed, else the busiest: more to see than the
    // last one-call health probe.
    const auto recent = index_.recent(50);
    const TraceSummary* best = nullptr;
    for (const auto& s : recent) {
      if (!best || std::make_pair(s.errors > 0, s.events) > std::make_pair(best->errors > 0, best->events)) best = &s;
    }
    if (best != nullptr) {
      trace_ = QString::fromStdString(best->trace_id);
      setDiagram(*index_.eventsOf(best->trace_id));
      picker_dirty_ = true;
    }
    return;
  }
  if (trace_.isEmpty()) return;
  // The shown trace may still be growing.
  const std::string id = trace_.toStdString();
  std::vector<flow::FlowEvent> more;
  for (const auto& e : *batch) {
    if (e.trace_id == id) more.push_back(e);
  }
  if (!more.empty() && diagram_.merge(more)) refreshView();
}

void TracePanel::refreshPicker() {
  picker_dirty_ = false;
  if (picker_->view()->isVisible()) {  // do not pull the list from under the user
    picker_dirty_ = true;
    return;
  }
  const auto recent = index_.recent(200);
  QSignalBlocker block(picker_);
  picker_->clear();
  int current = -1;
  for (const auto& s : recent) {
    QString text = MessagesModel::formatSimTime(s.first_sim_us) + "  " + QString::fromStdString(s.root) +
                   QString("  (%1 events").arg(s.events);
    if (s.errors > 0) text += QString(", %1 errors").arg(s.errors);
    text += ")  " + QString::fromStdString(s.trace_id.substr(0, 8));
    picker_->addItem(text, QString::fromStdString(s.trace_id));
    if (s.errors > 0) picker_->setItemData(picker_->count() - 1, QColor(224, 64, 64), Qt::ForegroundRole);
    if (QString::fromStdString(s.trace_id) == trace_) current = picker_->count() - 1;
  }
  if (current < 0 && !trace_.isEmpty()) {  // an older trace than the list holds
    picker_->insertItem(0, trace_, trace_);
    current = 0;
  }
  picker_->setCurrentIndex(current);
}

void TracePanel::showTrace(const QString& trace_id) {
  trace_ = trace_id;
  picker_dirty_ = true;
  refreshPicker();
  message_->hide();
  const std::string id = trace_id.toStdString();
  std::vector<flow::FlowEvent> local;
  if (const auto* seen = index_.eventsOf(id)) local = *seen;
  if (!context_.live()) {
    if (local.empty()) setMessage("Trace " + trace_id + " is not among the events of this recording.", true);
    setDiagram(std::move(local));
    return;
  }
  // Live: the bank holds the whole trace, including what happened before this window
  // opened; show what we have meanwhile.
  setDiagram(local);
  const uint64_t request = ++request_;
  context_.client->call(
      this,
      [id](Stubs& s) {
        sandbank::control::FlowQueryRequest q;
        q.mutable_filter()->set_trace_id(id);
        return unary(s.control, &sandbank::control::Control::Stub::QueryFlow, s, q);
      },
      [this, request, local = std::move(local)](Reply<sandbank::control::FlowEvents> r) mutable {
        if (request != request_) return;
        if (!r.ok()) {
          setMessage("Could not load the whole trace from the bank (" + describe(r.status) +
                         "); showing the events seen here.",
                     true);
          return;
        }
        std::vector<flow::FlowEvent> events;
        events.reserve(static_cast<size_t>(r.value.events_size()));
        for (const auto& e : r.value.events()) events.push_back(control::flowEventFromProto(e));
        if (events.empty() && local.empty()) {
          setMessage("The bank holds no events of trace " + trace_ + ".", true);
          return;
        }
        diagram_.merge(events);
        refreshView();
      });
}

void TracePanel::setDiagram(std::vector<flow::FlowEvent> events) {
  diagram_.setEvents(std::move(events));
  refreshView();
}

void TracePanel::refreshView() {
  const bool has = !diagram_.empty();
  svg_->setEnabled(has);
  png_->setEnabled(has);
  mermaid_->setEnabled(has);
  if (has) {
    size_t errors = 0;
    for (const auto& e : diagram_.events()) errors += (e.status != "OK" || e.kind == flow::FlowKind::kFault) ? 1 : 0;
    QString s = QString("%1 events, %2 participants, %3 ms")
                    .arg(diagram_.events().size())
                    .arg(diagram_.model().participants.size())
                    .arg(diagram_.spanUs() / 1000.0, 0, 'f', 1);
    if (errors > 0) s += QString(", <span style='color:#e04040'>%1 failed</span>").arg(errors);
    summary_->setText(s);
  } else {
    summary_->clear();
  }
  const QString empty = trace_.isEmpty()
                            ? (context_.live() ? "No trace yet. Traces appear as the bank handles requests; pick one above "
                                                 "or select an event in Messages."
                                               : "No traces in this recording.")
                            : "No events of trace " + trace_ + ".";
  sequence_->setEmptyText(empty);
  sequence_->relayout();
  timeline_->relayout();
}

void TracePanel::exportAs(const QString& format) {
  const QString base = "trace-" + trace_.left(8);
  QString filter = format == "svg" ? "SVG (*.svg)" : format == "png" ? "PNG (*.png)" : "Mermaid (*.mmd *.md)";
  const QString path = QFileDialog::getSaveFileName(this, "Export trace", base + "." + format, filter);
  if (path.isEmpty()) return;
  Status s = format == "svg"   ? diagram_.exportSvg(path, "trace " + trace_)
             : format == "png" ? diagram_.exportPng(path)
                               : diagram_.exportMermaid(path);
  if (!s.ok()) {
    setMessage("Export failed: " + QString::fromStdString(s.message()), true);
  } else {
    setMessage("Saved " + path);
  }
}

void TracePanel::setMessage(const QString& text, bool error) {
  message_->setText(text);
  message_->setStyleSheet(error ? "color: #e04040; padding: 2px 6px;" : "padding: 2px 6px;");
  message_->show();
}

SANDBANK_GUI_PANEL({.id = "trace",
                    .title = "Trace",
                    .order = 90,
                    .area = Qt::BottomDockWidgetArea,
                    .shortcut = {},
                    .needs_live = false,
                    .create = [](GuiContext& c, QWidget* parent) -> QWidget* { return new TracePanel(c, parent); }})

}  // namespace sandbank::gui
