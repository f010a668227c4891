// TracePanel: the selected trace as a sequence diagram (the model `sandbank flow --dump`
// draws) beside a waterfall of its spans against simulated time, a picker of the recent
// traces, and exports to SVG, PNG and Mermaid. Clicking an arrow or a bar selects that
// event for the other panels.
// Thread-safety: UI thread only.
#pragma once

#include <QWidget>

#include <functional>

#include "gui_context.h"
#include "panels/trace_model.h"

class QComboBox;
class QLabel;
class QPushButton;
class QTimer;

namespace sandbank::gui {

// Paints one part of a TraceDiagram and turns clicks into event ids.
class TraceCanvas : public QWidget {
  Q_OBJECT

 public:
  enum class Part { kSequence, kTimeline };
  TraceCanvas(const TraceDiagram& diagram, Part part, QWidget* parent = nullptr);
  void setSelected(uint64_t id);
  void setEmptyText(const QString& text);
  void relayout();  // the diagram changed: resize to it and repaint
  QSize sizeHint() const override;

 Q_SIGNALS:
  void eventClicked(quint64 id);

 protected:
  void paintEvent(QPaintEvent* event) override;
  void mousePressEvent(QMouseEvent* event) override;
  void resizeEvent(QResizeEvent* event) override;

 private:
  const TraceDiagram& diagram_;
  Part part_;
  uint64_t selected_ = 0;
  QString empty_text_;
};

class TracePanel : public QWidget {
  Q_OBJECT

 public:
  TracePanel(GuiContext& context, QWidget* parent = nullptr);

  const TraceDiagram& diagram() const { return diagram_; }
  const TraceIndex& index() const { return index_; }
  const QString& currentTrace() const { return trace_; }
  QComboBox* picker() { return picker_; }
  TraceCanvas* sequenceCanvas() { return sequence_; }
  // Shows a trace (from the bank when live, else from the events seen).
  void showTrace(const QString& trace_id);

 private:
  void onBatch(const FlowBatch& batch);
  void refreshPicker();
  void setDiagram(std::vector<flow::FlowEvent> events);
  void refreshView();  // after the diagram changed
  void exportAs(const QString& format);
  void setMessage(const QString& text, bool error = false);

  GuiContext& context_;
  TraceIndex index_;
  TraceDiagram diagram_;
  QString trace_;
  bool picked_by_user_ = false;  // otherwise the newest trace is shown until the user picks
  bool picker_dirty_ = false;
  uint64_t request_ = 0;         // newest trace query; older answers are dropped
  QComboBox* picker_;
  QLabel* summary_;
  QLabel* message_;
  TraceCanvas* sequence_;
  TraceCanvas* timeline_;
  QPushButton* svg_;
  QPushButton* png_;
  QPushButton* mermaid_;
  QTimer* picker_timer_;
};

}  // namespace sandbank::gui
