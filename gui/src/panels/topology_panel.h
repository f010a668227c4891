// TopologyPanel: a live picture of the bank - services in the middle, bus topics on the
// left, store nodes on the right - with edges that pulse with their recent traffic and
// turn red on errors. Clicking a node focuses that service for every panel; clicking
// empty space clears the focus. Repaints at most once per frame, and only while
// something changes.
// Thread-safety: UI thread only.
#pragma once

#include <QElapsedTimer>
#include <QWidget>

#include "gui_context.h"
#include "panels/topology_model.h"

class QLabel;
class QTimer;

namespace sandbank::gui {

class TopologyView : public QWidget {
  Q_OBJECT

 public:
  TopologyView(TopologyGraph& graph, QWidget* parent = nullptr);
  void setFocused(const QString& name);
  void setEmptyText(const QString& text);

 Q_SIGNALS:
  void nodeClicked(QString name);  // "" for empty space

 protected:
  void paintEvent(QPaintEvent* event) override;
  void mousePressEvent(QMouseEvent* event) override;

 private:
  TopologyGraph& graph_;
  QString focused_;
  QString empty_text_;
};

class TopologyPanel : public QWidget {
  Q_OBJECT

 public:
  TopologyPanel(GuiContext& context, QWidget* parent = nullptr);
  const TopologyGraph& graph() const { return graph_; }
  TopologyView* view() { return view_; }

 private:
  void onBatch(const FlowBatch& batch);
  void onFrame();
  void fetchInventory();
  double now() const { return static_cast<double>(clock_.nsecsElapsed()) / 1e9; }

  GuiContext& context_;
  TopologyGraph graph_;
  QElapsedTimer clock_;
  TopologyView* view_;
  QLabel* status_;
  QTimer* frame_;
  QTimer* inventory_ = nullptr;
  bool dirty_ = true;
  bool animating_ = false;
  bool fetching_ = false;
};

}  // namespace sandbank::gui
