// FaultDialog: every field of a FaultRule (match, action with its parameters, partition
// sides, probability and timing), to add a rule or edit one. The fields that do not
// apply to the chosen action are disabled. The dialog does not send anything: the faults
// panel submits rule() and shows the server's refusal in the dialog with showError().
// Thread-safety: UI thread only.
#pragma once

#include <QComboBox>
#include <QDialog>
#include <QDoubleSpinBox>
#include <QLabel>
#include <QLineEdit>
#include <QSpinBox>

#include "sandbank/control.pb.h"

namespace sandbank::gui {

class FaultDialog : public QDialog {
  Q_OBJECT

 public:
  explicit FaultDialog(QWidget* parent = nullptr);

  void setRule(const sandbank::control::FaultRule& rule);  // fills every field
  sandbank::control::FaultRule rule() const;
  void showError(const QString& error);  // keeps the dialog open for a fix
  void setBusy(bool busy);

 Q_SIGNALS:
  void submitted();  // OK pressed: the owner sends rule() and closes on success

 private:
  void updateEnabled();

  QLineEdit* id_;
  QLineEdit* source_;
  QLineEdit* destination_;
  QLineEdit* method_;
  QLineEdit* topic_;
  QLineEdit* table_;
  QComboBox* action_;
  QLineEdit* delay_;
  QLineEdit* jitter_;
  QComboBox* code_;
  QLineEdit* message_;
  QLineEdit* side_a_;
  QLineEdit* side_b_;
  QDoubleSpinBox* probability_;
  QLineEdit* start_after_;
  QLineEdit* stop_after_;
  QSpinBox* max_hits_;
  QLabel* error_;
  QPushButton* ok_ = nullptr;
};

}  // namespace sandbank::gui
