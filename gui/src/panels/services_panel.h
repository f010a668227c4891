// ServicesPanel: every service instance of the live bank in a table refreshed once a
// second (ListServices), with start, stop, restart and kill (by signal) on the selected
// service from the toolbar, the context menu and shortcuts. Selecting a row focuses that
// service for the other panels; action results and errors are shown in the panel. With a
// recording open instead, the table shows each instance as the run last saw it (state,
// pid, restarts, last exit), read once from the recording's processes, with no actions.
// Thread-safety: UI thread only; calls go through ControlClient.
#pragma once

#include <QLabel>
#include <QMenu>
#include <QStackedWidget>
#include <QTableView>
#include <QTimer>
#include <QWidget>

#include <thread>

#include "gui_context.h"
#include "services_model.h"

namespace sandbank::gui {

class ServicesPanel : public QWidget {
  Q_OBJECT

 public:
  ServicesPanel(GuiContext& context, QWidget* parent = nullptr);
  ~ServicesPanel() override;  // joins the recording reader

  ServicesModel* model() { return &model_; }
  QTableView* view() { return view_; }
  // The service of the selected row, or "".
  QString selectedService() const;
  // Runs an action on `service`: "start", "stop", "restart" or "kill" (with `signal`:
  // KILL, TERM, STOP, CONT). The result shows in the panel's message line.
  void act(const QString& action, const QString& service, const QString& signal = {});
  QString lastMessage() const { return message_->text(); }

 public Q_SLOTS:
  void refresh();

 Q_SIGNALS:
  // After each action's reply: ok, and the server's message or error.
  void actionFinished(bool ok, const QString& message);
  // A recording's instances (or why they could not be read) are on screen.
  void historyShown();

 private:
  void showMessage(const QString& text, bool error);
  void updateActions();
  void showPlaceholder(const QString& text);
  // Column widths from the rows' contents, with room for wide CPU, RSS and uptime values.
  void fitColumns();

  GuiContext& context_;
  ServicesModel model_;
  QTableView* view_ = nullptr;
  QStackedWidget* stack_ = nullptr;
  QLabel* placeholder_ = nullptr;
  QLabel* message_ = nullptr;
  QLabel* summary_ = nullptr;
  QMenu* kill_menu_ = nullptr;
  QList<QAction*> service_actions_;  // enabled only with a row selected
  QTimer timer_;
  bool in_flight_ = false;
  QString last_error_;  // of the last ListServices, "" when it worked
  std::thread history_;  // reads a recording's processes
};

}  // namespace sandbank::gui
