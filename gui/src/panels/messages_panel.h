// MessagesPanel: the live list of flow events, in the spirit of a packet capture - a
// filter bar, a virtualised table that follows the newest events until the user scrolls
// up, and a detail pane with the selected event's decoded payload, timings and faults.
// Thread-safety: UI thread only.
#pragma once

#include <QWidget>

#include <cstdint>

#include "gui_context.h"
#include "panels/messages_model.h"

class QComboBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QTableView;
class QTimer;
class QToolButton;

namespace sandbank::gui {

class MessagesPanel : public QWidget {
  Q_OBJECT

 public:
  MessagesPanel(GuiContext& context, QWidget* parent = nullptr);

  MessagesModel* model() { return model_; }
  MessagesProxy* proxy() { return proxy_; }
  QTableView* view() { return view_; }
  QPlainTextEdit* detailPane() { return detail_; }
  bool following() const { return following_; }

 private:
  void onBatch(const FlowBatch& batch);
  void applyFilter();
  void onCurrentRowChanged();
  void showDetail(const flow::FlowEvent& e, const QString& payload_text);
  void fetchDecoded(const flow::FlowEvent& e);
  void selectEventRow(quint64 id);
  void updateCount();
  void setFollowing(bool on);

  GuiContext& context_;
  MessagesModel* model_;
  MessagesProxy* proxy_;
  QTableView* view_;
  QPlainTextEdit* detail_;
  QComboBox* service_;
  QComboBox* kind_;
  QLineEdit* method_;
  QLineEdit* topic_;
  QComboBox* status_;
  QLineEdit* text_;
  QToolButton* follow_;
  QLabel* count_;
  QLabel* empty_;
  QTimer* filter_timer_;
  bool following_ = true;
  bool selecting_ = false;   // a row is being selected from Selection: do not echo it back
  uint64_t detail_request_ = 0;  // the newest payload request; older answers are ignored
  QStringList services_seen_;
  QStringList statuses_seen_;
};

}  // namespace sandbank::gui
