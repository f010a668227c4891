// FaultsPanel: the fault rules of the live bank (ListFaults once a second) with their hit
// counts, rules that are firing highlighted; add and edit through FaultDialog, remove one
// or all. The server's refusal of a bad rule is shown in the dialog and the panel.
// Thread-safety: UI thread only; calls go through ControlClient.
#pragma once

#include <QLabel>
#include <QPointer>
#include <QStackedWidget>
#include <QTableView>
#include <QTimer>
#include <QWidget>

#include "faults_model.h"
#include "gui_context.h"

namespace sandbank::gui {

class FaultDialog;

class FaultsPanel : public QWidget {
  Q_OBJECT

 public:
  FaultsPanel(GuiContext& context, QWidget* parent = nullptr);

  FaultsModel* model() { return &model_; }
  // Sends `rule` (AddFault); with `replacing` set, removes that rule first (an edit) and
  // puts it back if the new one is refused. Emits ruleSubmitted with the outcome.
  void submitRule(const sandbank::control::FaultRule& rule, const QString& replacing = {});
  void removeRule(const QString& id);  // "" removes every rule
  QString lastMessage() const { return message_->text(); }

 public Q_SLOTS:
  void refresh();

 Q_SIGNALS:
  void ruleSubmitted(bool ok, const QString& message);

 private:
  void openDialog(const sandbank::control::FaultRule* existing);
  void showMessage(const QString& text, bool error);
  QString selectedId() const;
  void updateActions();

  GuiContext& context_;
  FaultsModel model_;
  QTableView* view_ = nullptr;
  QStackedWidget* stack_ = nullptr;
  QLabel* placeholder_ = nullptr;
  QLabel* message_ = nullptr;
  QAction* edit_ = nullptr;
  QAction* remove_ = nullptr;
  QAction* remove_all_ = nullptr;
  QPointer<FaultDialog> dialog_;
  QTimer timer_;
  bool in_flight_ = false;
};

}  // namespace sandbank::gui
