// ScenariosPanel: list, tick, run; steps coloured live; failures open their trace.
#include "scenarios_panel.h"

#include <QApplication>
#include <QCheckBox>
#include <QCoreApplication>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPainter>
#include <QPlainTextEdit>
#include <QPointer>
#include <QPushButton>
#include <QSplitter>
#include <QThreadPool>
#include <QTreeWidget>
#include <QVBoxLayout>

#include <filesystem>

#include "control_client.h"
#include "panel_registry.h"

namespace sandbank::gui {
namespace {

constexpr int kRowRole = Qt::UserRole;        // index into rows_
constexpr int kStepRole = Qt::UserRole + 1;   // step index; -1 the scenario; -2 its message
constexpr int kFileRole = Qt::UserRole + 2;   // list: the file path
constexpr int kNameRole = Qt::UserRole + 3;   // list: the scenario name

const QColor kGreen(46, 160, 67), kRed(217, 83, 79), kAmber(230, 160, 40), kGrey(140, 140, 140);

QIcon dot(const QColor& c) {
  QPixmap pm(12, 12);
  pm.fill(Qt::transparent);
  QPainter p(&pm);
  p.setRenderHint(QPainter::Antialiasing);
  p.setPen(Qt::NoPen);
  p.setBrush(c);
  p.drawEllipse(1, 1, 10, 10);
  return QIcon(pm);
}

QString stem(const std::string& path) { return QString::fromStdString(std::filesystem::path(path).stem().string()); }

QString firstLine(const QString& s) { return s.section('\n', 0, 0); }

}  // namespace

ScenariosPanel::ScenariosPanel(GuiContext& context, QWidget* parent) : QWidget(parent), context_(context) {
  auto* root = new QVBoxLayout(this);
  root->setContentsMargins(4, 4, 4, 4);
  status_ = new QLabel(this);
  status_->setWordWrap(true);
  status_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  root->addWidget(status_);

  auto* split = new QSplitter(Qt::Vertical, this);
  root->addWidget(split, 1);
  auto* top = new QWidget(split);
  auto* tl = new QVBoxLayout(top);
  tl->setContentsMargins(0, 0, 0, 0);
  list_ = new QTreeWidget(top);
  list_->setHeaderLabels({"Scenario"});
  list_->setHeaderHidden(true);
  list_->setUniformRowHeights(true);
  tl->addWidget(list_, 1);
  auto* buttons = new QHBoxLayout();
  run_ = new QPushButton("Run ticked", top);
  stop_ = new QPushButton("Stop", top);
  stop_->setToolTip("Interrupt the scenario in progress at its next wait and run no more; "
                    "its teardown and invariant check are skipped, and the next run resets the bank");
  stop_->setEnabled(false);
  reset_ = new QCheckBox("Reset the bank first", top);
  reset_->setChecked(true);
  reset_->setToolTip("Clear faults, truncate tables, recreate topics and restart the services before the first scenario, "
                     "as `sandbank run` does between scenarios");
  auto* reload_button = new QPushButton("Reload", top);
  buttons->addWidget(run_);
  buttons->addWidget(stop_);
  buttons->addWidget(reset_);
  buttons->addStretch(1);
  buttons->addWidget(reload_button);
  tl->addLayout(buttons);

  results_ = new QTreeWidget(split);
  results_->setHeaderLabels({"Result", "Time"});
  results_->header()->setSectionResizeMode(0, QHeaderView::Stretch);
  results_->header()->setStretchLastSection(false);
  results_->setUniformRowHeights(true);
  detail_ = new QPlainTextEdit(split);
  detail_->setReadOnly(true);
  detail_->setPlaceholderText("Run a scenario; select a result to read its message and log. "
                              "Clicking a failure shows its trace in the Trace panel.");
  split->addWidget(top);
  split->addWidget(results_);
  split->addWidget(detail_);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 3);
  split->setStretchFactor(2, 1);

  connect(reload_button, &QPushButton::clicked, this, &ScenariosPanel::reload);
  connect(run_, &QPushButton::clicked, this, [this] { (void)runChecked(); });
  connect(stop_, &QPushButton::clicked, this, [this] {
    if (runner_) runner_->stop();
    stop_->setEnabled(false);
    status_->setText("Stopping the scenario in progress…");
  });
  connect(list_, &QTreeWidget::itemChanged, this, [this](QTreeWidgetItem* it, int) {
    // Ticking a file ticks its scenarios.
    if (it->parent() != nullptr || it->childCount() == 0) return;
    const Qt::CheckState st = it->checkState(0);
    if (st == Qt::PartiallyChecked) return;
    QSignalBlocker block(list_);
    for (int i = 0; i < it->childCount(); ++i) it->child(i)->setCheckState(0, st);
  });
  connect(results_, &QTreeWidget::itemSelectionChanged, this, &ScenariosPanel::showDetail);
  connect(results_, &QTreeWidget::itemClicked, this, [this](QTreeWidgetItem* it, int) {
    const int row = it->data(0, kRowRole).toInt();
    if (row < 0 || row >= static_cast<int>(rows_.size())) return;
    const RunRow& r = rows_[static_cast<size_t>(row)];
    const int step = it->data(0, kStepRole).toInt();
    const bool failed_item = step == -2 || (step == -1 && (r.state == State::kFailed || r.state == State::kError)) ||
                             (step >= 0 && step < static_cast<int>(r.steps.size()) && !r.steps[static_cast<size_t>(step)].ok);
    if (failed_item && !r.trace_id.isEmpty()) context_.selection->selectTrace(r.trace_id);
  });

  // A live bank: in process, or attached (its run-state file gives the control port).
  if (context_.client != nullptr && (context_.simulator != nullptr || !context_.run_state.empty())) {
    ScenarioRunnerOptions o;
    o.simulator = context_.simulator;
    o.run_state = context_.run_state;
    o.descriptor_path = findDescriptorSet(context_.bin_dir.empty() ? QCoreApplication::applicationDirPath().toStdString()
                                                                   : context_.bin_dir);
    runner_ = std::make_unique<ScenarioRunner>(o);
    connect(runner_.get(), &ScenarioRunner::scenarioStarted, this, [this](int i) {
      if (i >= static_cast<int>(rows_.size())) return;
      rows_[static_cast<size_t>(i)].state = State::kRunning;
      showRow(i);
      status_->setText(QString("Running %1 of %2: %3").arg(i + 1).arg(rows_.size()).arg(QString::fromStdString(rows_[static_cast<size_t>(i)].ref.name)));
    });
    connect(runner_.get(), &ScenarioRunner::stepFinished, this, [this](int i, QString name, double ms, bool ok) {
      if (i >= static_cast<int>(rows_.size())) return;
      RunRow& r = rows_[static_cast<size_t>(i)];
      r.steps.push_back({name, ms, ok});
      QTreeWidgetItem* top = rowItem(i);
      if (top == nullptr) return;
      auto* s = new QTreeWidgetItem(top, {name, QString("%1 ms").arg(ms, 0, 'f', ms < 10 ? 1 : 0)});
      s->setIcon(0, dot(ok ? kGreen : kRed));
      s->setForeground(0, ok ? palette().color(QPalette::Text) : kRed);
      s->setData(0, kRowRole, i);
      s->setData(0, kStepRole, static_cast<int>(r.steps.size()) - 1);
      s->setTextAlignment(1, Qt::AlignRight | Qt::AlignVCenter);
      if (!ok) s->setToolTip(0, "This step failed; the scenario's message follows when it ends");
      results_->scrollToItem(s);
    });
    connect(runner_.get(), &ScenarioRunner::logLine, this, [this](int i, QString line) {
      if (i < static_cast<int>(rows_.size())) rows_[static_cast<size_t>(i)].log << line;
    });
    connect(runner_.get(), &ScenarioRunner::scenarioFinished, this,
            [this](int i, int verdict, QString message, QString trace, QString location, double seconds) {
              if (i >= static_cast<int>(rows_.size())) return;
              RunRow& r = rows_[static_cast<size_t>(i)];
              r.state = verdict == 0 ? State::kPassed : verdict == 1 ? State::kFailed : State::kError;
              r.message = message;
              r.trace_id = trace;
              r.location = location;
              r.seconds = seconds;
              showRow(i);
              QTreeWidgetItem* top = rowItem(i);
              if (top != nullptr && r.state != State::kPassed) {
                auto* m = new QTreeWidgetItem(top, {firstLine(message), trace.isEmpty() ? QString() : QString("trace ›")});
                m->setIcon(0, dot(kRed));
                m->setForeground(0, kRed);
                m->setData(0, kRowRole, i);
                m->setData(0, kStepRole, -2);
                m->setToolTip(0, message + (trace.isEmpty() ? QString() : "\n\nClick to show trace " + trace + " in the Trace panel"));
                top->setExpanded(true);
                results_->setCurrentItem(m);
              }
            });
    connect(runner_.get(), &ScenarioRunner::runFinished, this, [this](int passed, int failed, QString error) {
      run_->setEnabled(true);
      stop_->setEnabled(false);
      if (!error.isEmpty() && error != "stopped") {
        status_->setStyleSheet("color: #d9534f;");
        status_->setText("The run could not start: " + error);
      } else {
        status_->setStyleSheet(failed > 0 ? "color: #d9534f;" : "");
        status_->setText(QString("%1 passed, %2 failed%3").arg(passed).arg(failed).arg(error == "stopped" ? " (stopped early)" : ""));
      }
      Q_EMIT runDone();
    });
  } else {
    run_->setEnabled(false);
    reset_->setEnabled(false);
  }
  reload();
}

ScenariosPanel::~ScenariosPanel() = default;

void ScenariosPanel::reload() {
  status_->setStyleSheet("");
  status_->setText("Reading " + QString::fromStdString(context_.scenarios_dir) + "…");
  QPointer<ScenariosPanel> guard(this);
  const std::string dir = context_.scenarios_dir;
  QThreadPool::globalInstance()->start([guard, dir] {
    auto files = listScenarioFiles(dir);
    QMetaObject::invokeMethod(
        qApp,
        [guard, files = std::move(files)]() mutable {
          if (!guard) return;
          guard->files_ = std::move(files);
          guard->showFiles();
          Q_EMIT guard->listed();
        },
        Qt::QueuedConnection);
  });
}

void ScenariosPanel::showFiles() {
  QSignalBlocker block(list_);
  list_->clear();
  int count = 0, broken = 0;
  for (const auto& f : files_) {
    auto* top = new QTreeWidgetItem(list_, {stem(f.file)});
    top->setToolTip(0, QString::fromStdString(f.file));
    if (!f.error.empty()) {
      ++broken;
      top->setIcon(0, dot(kRed));
      top->setText(0, stem(f.file) + " — does not load");
      auto* e = new QTreeWidgetItem(top, {firstLine(QString::fromStdString(f.error))});
      e->setToolTip(0, QString::fromStdString(f.error));
      e->setForeground(0, kRed);
      continue;
    }
    top->setFlags(top->flags() | Qt::ItemIsUserCheckable | Qt::ItemIsAutoTristate);
    top->setCheckState(0, Qt::Unchecked);
    for (const auto& n : f.names) {
      auto* s = new QTreeWidgetItem(top, {QString::fromStdString(n)});
      s->setFlags(s->flags() | Qt::ItemIsUserCheckable);
      s->setCheckState(0, Qt::Unchecked);
      s->setData(0, kFileRole, QString::fromStdString(f.file));
      s->setData(0, kNameRole, QString::fromStdString(n));
      ++count;
    }
  }
  QString text;
  if (files_.empty()) {
    text = "No scenario files (*.js) in " + QString::fromStdString(context_.scenarios_dir);
  } else if (count == 0 && broken > 0) {
    text = "No scenario loads from " + QString::fromStdString(context_.scenarios_dir);
  } else {
    text = QString("%1 scenarios in %2 files").arg(count).arg(files_.size() - broken);
    if (broken > 0) text += QString(" (%1 file%2 do not load)").arg(broken).arg(broken == 1 ? "" : "s");
    text += runner_ ? ". Tick some and run them against this bank."
                    : ". Running them needs a live bank: open the app without --open, or with --attach.";
  }
  status_->setStyleSheet(broken > 0 && count == 0 ? "color: #d9534f;" : "");
  status_->setText(text);
}

bool ScenariosPanel::check(const std::string& file, const std::string& name, bool on) {
  for (int i = 0; i < list_->topLevelItemCount(); ++i) {
    QTreeWidgetItem* top = list_->topLevelItem(i);
    for (int j = 0; j < top->childCount(); ++j) {
      QTreeWidgetItem* s = top->child(j);
      if (s->data(0, kNameRole).toString().toStdString() == name &&
          (s->data(0, kFileRole).toString().toStdString() == file || stem(s->data(0, kFileRole).toString().toStdString()) == QString::fromStdString(file))) {
        s->setCheckState(0, on ? Qt::Checked : Qt::Unchecked);
        return true;
      }
    }
  }
  return false;
}

void ScenariosPanel::setResetFirst(bool on) { reset_->setChecked(on); }

Status ScenariosPanel::runChecked() {
  std::vector<ScenarioRef> todo;
  for (int i = 0; i < list_->topLevelItemCount(); ++i) {
    QTreeWidgetItem* top = list_->topLevelItem(i);
    for (int j = 0; j < top->childCount(); ++j) {
      QTreeWidgetItem* s = top->child(j);
      if (s->checkState(0) == Qt::Checked && s->data(0, kNameRole).isValid())
        todo.push_back({s->data(0, kFileRole).toString().toStdString(), s->data(0, kNameRole).toString().toStdString()});
    }
  }
  Status st = runner_ ? runner_->start(todo, reset_->isChecked())
                      : FailedPrecondition("running scenarios needs a live bank: open the app without --open, or with --attach");
  if (!st.ok()) {
    status_->setStyleSheet("color: #d9534f;");
    status_->setText(QString::fromStdString(st.message()));
    return st;
  }
  rows_.clear();
  results_->clear();
  detail_->clear();
  for (size_t i = 0; i < todo.size(); ++i) {
    RunRow r;
    r.ref = todo[i];
    rows_.push_back(r);
    auto* it = new QTreeWidgetItem(results_, {stem(r.ref.file) + ": " + QString::fromStdString(r.ref.name), QString()});
    it->setData(0, kRowRole, static_cast<int>(i));
    it->setData(0, kStepRole, -1);
    showRow(static_cast<int>(i));
  }
  run_->setEnabled(false);
  stop_->setEnabled(true);
  status_->setStyleSheet("");
  status_->setText(reset_->isChecked() ? "Resetting the bank…" : "Starting…");
  return OkStatus();
}

QTreeWidgetItem* ScenariosPanel::rowItem(int index) const {
  return index >= 0 && index < results_->topLevelItemCount() ? results_->topLevelItem(index) : nullptr;
}

void ScenariosPanel::showRow(int index) {
  QTreeWidgetItem* it = rowItem(index);
  if (it == nullptr) return;
  const RunRow& r = rows_[static_cast<size_t>(index)];
  switch (r.state) {
    case State::kQueued: it->setIcon(0, dot(kGrey)); break;
    case State::kRunning:
      it->setIcon(0, dot(kAmber));
      it->setExpanded(true);
      break;
    case State::kPassed:
      it->setIcon(0, dot(kGreen));
      it->setExpanded(false);
      break;
    case State::kFailed:
    case State::kError: it->setIcon(0, dot(kRed)); break;
  }
  QFont f = it->font(0);
  f.setBold(r.state == State::kRunning);
  it->setFont(0, f);
  if (r.state == State::kPassed || r.state == State::kFailed || r.state == State::kError)
    it->setText(1, QString("%1 s").arg(r.seconds, 0, 'f', 2));
  it->setTextAlignment(1, Qt::AlignRight | Qt::AlignVCenter);
}

void ScenariosPanel::showDetail() {
  auto items = results_->selectedItems();
  if (items.isEmpty()) return;
  const int row = items.first()->data(0, kRowRole).toInt();
  if (row < 0 || row >= static_cast<int>(rows_.size())) return;
  const RunRow& r = rows_[static_cast<size_t>(row)];
  QString text = stem(r.ref.file) + ": " + QString::fromStdString(r.ref.name) + "\n";
  switch (r.state) {
    case State::kQueued: text += "queued\n"; break;
    case State::kRunning: text += "running…\n"; break;
    case State::kPassed: text += QString("passed in %1 s\n").arg(r.seconds, 0, 'f', 2); break;
    case State::kFailed: text += QString("FAILED after %1 s\n").arg(r.seconds, 0, 'f', 2); break;
    case State::kError: text += "ERROR (the script itself is broken)\n"; break;
  }
  if (!r.message.isEmpty()) text += "\n" + r.message + "\n";
  if (!r.trace_id.isEmpty()) text += "trace " + r.trace_id + " (click the failure to open it in the Trace panel)\n";
  if (!r.log.isEmpty()) text += "\nlog:\n" + r.log.join("\n");
  detail_->setPlainText(text);
}

SANDBANK_GUI_PANEL({.id = "scenarios",
                    .title = "Scenarios",
                    .order = 30,
                    .area = Qt::LeftDockWidgetArea,
                    .shortcut = {},
                    .needs_live = true,
                    .create = [](GuiContext& c, QWidget* parent) -> QWidget* { return new ScenariosPanel(c, parent); }})

}  // namespace sandbank::gui
