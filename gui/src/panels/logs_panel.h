// LogsPanel: one log view across every service. A reader thread follows StreamLogs
// (follow, last 500 lines) and reconnects when the stream ends; lines reach the model in
// batches at most once per frame. Search box, service and level filters, auto-scroll that
// pauses while the user reads older lines, and a click on a trace id selects that trace.
// With a recording open instead of a live bank, its logs table is read once, on the same
// reader thread, and shown the same way.
// Thread-safety: widgets and the model on the UI thread; the reader thread only appends to
// pending_ under mu_ and reads stopping_.
#pragma once

#include <QCheckBox>
#include <QComboBox>
#include <QLabel>
#include <QLineEdit>
#include <QTableView>
#include <QTimer>
#include <QWidget>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "gui_context.h"
#include "logs_model.h"

namespace sandbank::gui {

class LogsPanel : public QWidget {
  Q_OBJECT

 public:
  LogsPanel(GuiContext& context, QWidget* parent = nullptr);
  ~LogsPanel() override;  // cancels the stream and joins the reader

  LogsModel* model() { return &model_; }
  LogsFilter* filter() { return &filter_; }
  bool following() const { return follow_; }

 private:
  void readLoop();
  void readRecording();  // the reader thread when a recording is open
  void drain();  // UI thread, once per frame
  void updateStatus();
  void applyServiceFilter(const QString& service);

  GuiContext& context_;
  LogsModel model_;
  LogsFilter filter_;
  QTableView* view_ = nullptr;
  QLineEdit* search_ = nullptr;
  QComboBox* service_box_ = nullptr;
  QComboBox* level_box_ = nullptr;
  QCheckBox* follow_box_ = nullptr;
  QLabel* status_ = nullptr;
  QTimer frame_;
  bool follow_ = true;  // scroll to the newest line as lines arrive
  bool shown_connected_ = false;  // connected_ as the status line last showed it

  std::mutex mu_;
  std::vector<LogRow> pending_;  // guarded by mu_
  QString stream_error_;         // guarded by mu_: why the last stream ended, "" when it is fine
  void* active_call_ = nullptr;  // grpc::ClientContext of the open stream; guarded by mu_
  std::atomic<bool> connected_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> recording_read_{false};  // the recording's lines are in pending_ (or failed)
  size_t recording_skipped_ = 0;             // older recorded lines beyond the model's bound; guarded by mu_
  std::thread reader_;
};

}  // namespace sandbank::gui
