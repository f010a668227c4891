// ClockPanel: read and advance the simulated clock.
#include "clock_panel.h"

#include <QDateTime>
#include <QFormLayout>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QStringList>
#include <QVBoxLayout>

#include "control_client.h"
#include "control_stubs.h"
#include "panel_registry.h"
#include "services_severity.h"

namespace sandbank::gui {
namespace {

namespace pb = sandbank::control;

}  // namespace

QString ClockPanel::formatOffset(qint64 seconds) {
  if (seconds == 0) return "0 s (real time)";
  const QString sign = seconds < 0 ? "−" : "+";
  qint64 s = seconds < 0 ? -seconds : seconds;
  const qint64 d = s / 86400, h = (s % 86400) / 3600, m = (s % 3600) / 60, sec = s % 60;
  QStringList parts;
  if (d) parts << QString("%1 d").arg(d);
  if (h) parts << QString("%1 h").arg(h);
  if (m) parts << QString("%1 m").arg(m);
  if (sec && d == 0) parts << QString("%1 s").arg(sec);
  return sign + parts.join(" ");
}

ClockPanel::ClockPanel(GuiContext& context, QWidget* parent) : QWidget(parent), context_(context) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(10, 10, 10, 10);

  auto* time_box = new QGroupBox("Simulated time (UTC)", this);
  auto* tl = new QVBoxLayout(time_box);
  now_ = new QLabel("—", this);
  now_->setObjectName("clock-now");
  QFont big = now_->font();
  big.setPointSizeF(big.pointSizeF() * 2.2);
  big.setBold(true);
  now_->setFont(big);
  now_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  date_ = new QLabel(this);
  date_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  offset_ = new QLabel(this);
  offset_->setObjectName("clock-offset");
  tl->addWidget(now_);
  tl->addWidget(date_);
  tl->addWidget(offset_);
  layout->addWidget(time_box);

  auto* adv_box = new QGroupBox("Advance the clock", this);
  auto* al = new QVBoxLayout(adv_box);
  auto* row = new QHBoxLayout();
  amount_ = new QLineEdit(this);
  amount_->setObjectName("clock-amount");
  amount_->setPlaceholderText("a duration: 90m, 36h, 7d");
  go_ = new QPushButton("Advance", this);
  go_->setObjectName("clock-advance");
  row->addWidget(amount_, 1);
  row->addWidget(go_);
  al->addLayout(row);
  auto* quick = new QHBoxLayout();
  for (const char* d : {"1h", "1d", "7d", "30d"}) {
    auto* b = new QPushButton(QString("+%1").arg(d), this);
    b->setObjectName(QString("clock-plus-%1").arg(d));
    b->setToolTip(QString("Move simulated time forward by %1").arg(d));
    const QString duration = d;
    connect(b, &QPushButton::clicked, this, [this, duration] { advance(duration); });
    quick->addWidget(b);
  }
  quick->addStretch(1);
  al->addLayout(quick);
  auto* hint = new QLabel("Services see the new time at once: interest accrues, holds expire, schedules fire.", this);
  hint->setWordWrap(true);
  hint->setForegroundRole(QPalette::PlaceholderText);
  al->addWidget(hint);
  layout->addWidget(adv_box);

  error_ = new QLabel(this);
  error_->setObjectName("clock-error");
  error_->setWordWrap(true);
  error_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  error_->hide();
  layout->addWidget(error_);
  layout->addStretch(1);

  auto submit = [this] {
    if (!amount_->text().trimmed().isEmpty()) advance(amount_->text().trimmed());
  };
  connect(go_, &QPushButton::clicked, this, submit);
  connect(amount_, &QLineEdit::returnPressed, this, submit);

  if (!context_.live()) {
    now_->setText("—");
    offset_->setText("No live bank: a recording's clock cannot be moved.");
    setEnabled(false);
    return;
  }
  offset_->setText("Asking the bank for its clock…");
  connect(&timer_, &QTimer::timeout, this, &ClockPanel::refresh);
  timer_.start(1000);
  refresh();
}

void ClockPanel::showError(const QString& text) {
  error_->setText(text);
  error_->setStyleSheet(QString("color: %1;").arg(severityText(Severity::kBad, palette()).name()));
  error_->setVisible(!text.isEmpty());
}

namespace {

// Shows a ClockState in the three labels.
void showState(const pb::ClockState& st, QLabel* now, QLabel* date, QLabel* offset) {
  const QString iso = QString::fromStdString(st.now());
  const QDateTime t = QDateTime::fromString(iso, Qt::ISODateWithMs);
  if (t.isValid()) {
    const QDateTime utc = t.toUTC();
    now->setText(utc.toString("HH:mm:ss"));
    date->setText(utc.toString("dddd d MMMM yyyy"));
  } else {
    now->setText(iso);
    date->clear();
  }
  offset->setText("Ahead of real time: " + ClockPanel::formatOffset(st.offset_seconds()));
}

}  // namespace

void ClockPanel::refresh() {
  if (!context_.live() || in_flight_) return;
  in_flight_ = true;
  const uint64_t seq = ++issued_;
  context_.client->call(
      this, [](Stubs& s) { return unary(s.control, &pb::Control::Stub::Clock, s, pb::ClockRequest{}, std::chrono::seconds(3)); },
      [this, seq](Reply<pb::ClockState> r) {
        in_flight_ = false;
        // Calls run concurrently: a read sent before an advance may answer after it, and
        // its older time must not replace the advanced one.
        if (seq < shown_) return;
        shown_ = seq;
        if (!r.ok()) {
          showError("Cannot read the clock: " + describe(r.status));
          return;
        }
        // A read that works clears a read error, but not the error of a refused advance.
        if (error_->text().startsWith("Cannot read")) showError({});
        showState(r.value, now_, date_, offset_);
      });
}

void ClockPanel::advance(const QString& duration) {
  if (!context_.live()) return;
  go_->setEnabled(false);
  context_.client->call(
      this,
      [d = duration.toStdString()](Stubs& s) {
        pb::ClockRequest req;
        req.set_advance(d);
        return unary(s.control, &pb::Control::Stub::Clock, s, req);
      },
      [this, duration, seq = ++issued_](Reply<pb::ClockState> r) {
        go_->setEnabled(true);
        QString message;
        if (r.ok()) {
          showError({});
          if (seq >= shown_) {
            shown_ = seq;
            showState(r.value, now_, date_, offset_);
          }
          amount_->clear();
          message = "advanced by " + duration;
        } else {
          message = QString("Cannot advance by \"%1\": %2").arg(duration, describe(r.status));
          showError(message);
        }
        Q_EMIT advanced(r.ok(), message);
      });
}

SANDBANK_GUI_PANEL({.id = "clock",
                    .title = "Clock",
                    .order = 70,
                    .area = Qt::RightDockWidgetArea,
                    .shortcut = {},
                    .needs_live = true,
                    .create = [](GuiContext& c, QWidget* parent) -> QWidget* { return new ClockPanel(c, parent); }})

}  // namespace sandbank::gui
