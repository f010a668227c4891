// ClockPanel: the bank's simulated time (the Clock RPC, once a second) and how far it is
// ahead of real time, with a field and quick buttons to advance it ("90m", "7d", +1h,
// +1d, +7d). Errors (a bad duration, an unreachable bank) are shown in the panel.
// Thread-safety: UI thread only; calls go through ControlClient.
#pragma once

#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QTimer>
#include <QWidget>

#include <cstdint>

#include "gui_context.h"

namespace sandbank::gui {

class ClockPanel : public QWidget {
  Q_OBJECT

 public:
  ClockPanel(GuiContext& context, QWidget* parent = nullptr);

  // Asks the bank to move simulated time forward by `duration` ("90m", "7d").
  void advance(const QString& duration);
  QString nowText() const { return now_->text(); }
  QString offsetText() const { return offset_->text(); }
  // isHidden, not isVisible: the text counts even while the panel itself is not on screen.
  QString errorText() const { return error_->isHidden() ? QString() : error_->text(); }

  // "3 d 4 h 5 m", "-20 s": the offset for people.
  static QString formatOffset(qint64 seconds);

 public Q_SLOTS:
  void refresh();

 Q_SIGNALS:
  void advanced(bool ok, const QString& message);

 private:
  void showError(const QString& text);

  GuiContext& context_;
  QLabel* now_ = nullptr;
  QLabel* date_ = nullptr;
  QLabel* offset_ = nullptr;
  QLineEdit* amount_ = nullptr;
  QPushButton* go_ = nullptr;
  QLabel* error_ = nullptr;
  QTimer timer_;
  bool in_flight_ = false;
  uint64_t issued_ = 0;  // numbers every Clock call in the order it was sent
  uint64_t shown_ = 0;   // the number of the call whose answer the labels show
};

}  // namespace sandbank::gui
