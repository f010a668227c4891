// ServicesPanel: the services table, its actions and its refresh loop.
#include "services_panel.h"

#include <QAction>
#include <QFontMetrics>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QStyle>
#include <QToolBar>
#include <QToolButton>
#include <QVBoxLayout>

#include <algorithm>
#include <map>
#include <utility>

#include "control_client.h"
#include "control_stubs.h"
#include "panel_registry.h"
#include "sandbank/flow/flow_query.h"
#include "services_severity.h"

namespace sandbank::gui {
namespace {

namespace pb = sandbank::control;

InstanceRow rowFromProto(const pb::InstanceInfo& i) {
  InstanceRow r;
  r.service = QString::fromStdString(i.service());
  r.instance = QString::fromStdString(i.instance());
  r.state = QString::fromStdString(i.state());
  r.pid = i.pid();
  r.port = i.port();
  r.http_port = i.http_port();
  r.restarts = i.restarts();
  r.uptime_seconds = i.uptime_seconds();
  r.cpu_percent = i.cpu_percent();
  r.rss_bytes = i.rss_bytes();
  r.health = QString::fromStdString(i.health());
  r.reason = QString::fromStdString(i.reason());
  r.last_exit = QString::fromStdString(i.last_exit());
  r.next_backoff_seconds = i.next_backoff_seconds();
  return r;
}

// A recorded process change in the words the live table uses (and colours): a clean exit
// at the end of a run is "stopped", not a failure.
QString liveStateName(const flow::ProcessRecord& p) {
  switch (p.state) {
    case flow::ProcessState::kStarting: return "starting";
    case flow::ProcessState::kReady: return "healthy";
    case flow::ProcessState::kRestarting: return "backoff";
    case flow::ProcessState::kKilled: return "exited";
    case flow::ProcessState::kExited: return p.exit_code.value_or(0) == 0 ? "stopped" : "exited";
  }
  return QString::fromStdString(std::string(flow::processStateName(p.state)));
}

// Each instance as a recording last saw it: its final state and pid, how often the restart
// policy started it again, and how its last process ended. Only a start that follows the
// policy's "restarting" record counts, as the live table's restarts do: the stop and start
// of a reset between scenarios, or a Restart request, is not a crash.
Result<std::vector<InstanceRow>> instancesFromRecording(const std::string& path) {
  SANDBANK_ASSIGN_OR_RETURN(auto q, flow::RecordingFlowQuery::open(path));
  SANDBANK_ASSIGN_OR_RETURN(auto history, q->processes());
  std::map<std::string, InstanceRow> by_instance;  // sorted by instance name
  std::map<std::string, flow::ProcessState> previous;  // each instance's last record so far
  for (const flow::ProcessRecord& p : history) {
    const std::string key = p.instance.empty() ? p.service : p.instance;
    InstanceRow& r = by_instance[key];
    r.service = QString::fromStdString(p.service);
    r.instance = QString::fromStdString(key);
    r.state = liveStateName(p);
    r.pid = static_cast<int>(p.pid);
    r.measured = false;  // a recording keeps process changes, never CPU or RSS samples
    auto before = previous.find(key);
    if (p.state == flow::ProcessState::kStarting && before != previous.end() &&
        before->second == flow::ProcessState::kRestarting)
      ++r.restarts;
    previous[key] = p.state;
    if (p.exit_code) r.last_exit = QString("exit code %1").arg(*p.exit_code);
    if (p.state == flow::ProcessState::kKilled) r.last_exit = "killed";
  }
  std::vector<InstanceRow> rows;
  for (auto& [key, r] : by_instance) rows.push_back(std::move(r));
  return rows;
}

}  // namespace

ServicesPanel::~ServicesPanel() {
  if (history_.joinable()) history_.join();
}

ServicesPanel::ServicesPanel(GuiContext& context, QWidget* parent) : QWidget(parent), context_(context) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->setSpacing(2);

  auto* bar = new QToolBar(this);
  bar->setToolButtonStyle(Qt::ToolButtonTextOnly);
  layout->addWidget(bar);

  auto makeAction = [this](const QString& text, const QString& name, const QKeySequence& key, const QString& tip) {
    auto* a = new QAction(text, this);
    a->setObjectName(name);
    a->setShortcut(key);
    a->setShortcutContext(Qt::WidgetWithChildrenShortcut);
    a->setToolTip(QString("%1 (%2)").arg(tip, key.toString(QKeySequence::NativeText)));
    this->addAction(a);  // the shortcut works anywhere in the panel
    service_actions_.push_back(a);
    return a;
  };
  QAction* start = makeAction("▶ Start", "service-start", QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_S),
                             "Start the selected service");
  QAction* stop = makeAction("■ Stop", "service-stop", QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_X),
                            "Stop the selected service (it stays down)");
  QAction* restart = makeAction("↻ Restart", "service-restart", QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_R),
                               "Restart the selected service");
  QAction* kill = makeAction("⚡ Kill…", "service-kill", QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_K),
                            "Send a signal to the selected service");
  connect(start, &QAction::triggered, this, [this] { act("start", selectedService()); });
  connect(stop, &QAction::triggered, this, [this] { act("stop", selectedService()); });
  connect(restart, &QAction::triggered, this, [this] { act("restart", selectedService()); });

  kill_menu_ = new QMenu(this);
  const std::pair<const char*, const char*> kSignals[] = {
      {"KILL", "SIGKILL: crash it (the supervisor restarts it)"},
      {"TERM", "SIGTERM: ask it to exit"},
      {"STOP", "SIGSTOP: freeze it (hangs, health checks fail)"},
      {"CONT", "SIGCONT: thaw a frozen service"}};
  for (const auto& [sig, text] : kSignals) {
    QAction* a = kill_menu_->addAction(text);
    a->setObjectName(QString("service-kill-%1").arg(sig));
    const QString signal = sig;
    connect(a, &QAction::triggered, this, [this, signal] { act("kill", selectedService(), signal); });
  }
  kill->setMenu(kill_menu_);
  // Triggering Kill (button, shortcut, context menu) asks for the signal first.
  connect(kill, &QAction::triggered, this, [this] {
    QPoint at = view_->viewport()->mapToGlobal(view_->visualRect(view_->currentIndex()).bottomLeft());
    if (!view_->currentIndex().isValid()) at = mapToGlobal(QPoint(20, 20));
    kill_menu_->popup(at);
  });

  bar->addAction(start);
  bar->addAction(stop);
  bar->addAction(restart);
  bar->addAction(kill);
  if (auto* b = qobject_cast<QToolButton*>(bar->widgetForAction(kill))) b->setPopupMode(QToolButton::InstantPopup);
  bar->addSeparator();
  summary_ = new QLabel(this);
  summary_->setContentsMargins(6, 0, 6, 0);
  bar->addWidget(summary_);

  view_ = new QTableView(this);
  view_->setModel(&model_);
  view_->setItemDelegate(new SeverityDelegate(view_));
  view_->setSelectionBehavior(QAbstractItemView::SelectRows);
  view_->setSelectionMode(QAbstractItemView::SingleSelection);
  view_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  view_->verticalHeader()->hide();
  view_->verticalHeader()->setDefaultSectionSize(view_->fontMetrics().height() + 8);
  view_->horizontalHeader()->setStretchLastSection(true);
  view_->horizontalHeader()->setHighlightSections(false);
  view_->setAlternatingRowColors(true);
  view_->setShowGrid(false);
  view_->setWordWrap(false);
  view_->setContextMenuPolicy(Qt::CustomContextMenu);
  connect(view_, &QWidget::customContextMenuRequested, this, [this, start, stop, restart](const QPoint& pos) {
    const QModelIndex at = view_->indexAt(pos);
    if (!at.isValid()) return;
    view_->setCurrentIndex(at);
    QMenu menu(this);
    menu.addSection(model_.at(at.row()).service);
    menu.addAction(start);
    menu.addAction(stop);
    menu.addAction(restart);
    QMenu* sub = menu.addMenu("Kill with signal");
    sub->addActions(kill_menu_->actions());
    menu.exec(view_->viewport()->mapToGlobal(pos));
  });

  placeholder_ = new QLabel(this);
  placeholder_->setAlignment(Qt::AlignCenter);
  placeholder_->setWordWrap(true);
  placeholder_->setMargin(24);
  stack_ = new QStackedWidget(this);
  stack_->addWidget(view_);
  stack_->addWidget(placeholder_);
  layout->addWidget(stack_, 1);

  message_ = new QLabel(this);
  message_->setObjectName("services-message");
  message_->setWordWrap(true);
  message_->setContentsMargins(6, 2, 6, 4);
  message_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  message_->hide();
  layout->addWidget(message_);

  // Selection, not the current index: a view that gains focus makes its first row current
  // without selecting it, and that must not filter every other panel to that service.
  connect(view_->selectionModel(), &QItemSelectionModel::selectionChanged, this, [this] {
    updateActions();
    const QString service = selectedService();
    if (!service.isEmpty()) context_.selection->focusService(service);
  });
  // Another panel focused a service: show it here too (Selection ignores repeats, so no loop).
  connect(context_.selection, &Selection::serviceFocused, this, [this](const QString& service) {
    if (service.isEmpty() || selectedService() == service) return;
    const int row = model_.firstRowOfService(service);
    if (row >= 0) view_->selectRow(row);
  });
  connect(&model_, &QAbstractItemModel::rowsInserted, this, &ServicesPanel::fitColumns);

  updateActions();
  if (!context_.live()) {
    if (context_.recording.empty()) {
      showPlaceholder("No live bank and no recording.");
      return;
    }
    // A recording: the instances as it last saw them, read once off the UI thread.
    showPlaceholder("Reading the recording's processes…");
    history_ = std::thread([this, path = context_.recording] {
      auto rows = instancesFromRecording(path);
      QMetaObject::invokeMethod(this, [this, path, rows = std::move(rows)] {
        if (!rows.ok()) {
          showPlaceholder(QString::fromStdString(path + ": " + rows.status().message()));
        } else if (rows->empty()) {
          showPlaceholder("This recording holds no process changes.");
        } else {
          model_.update(*rows);
          summary_->setText(QString("recorded: %1 instances, as the run last saw them (read only)").arg(rows->size()));
          stack_->setCurrentWidget(view_);
        }
        Q_EMIT historyShown();
      }, Qt::QueuedConnection);
    });
    return;
  }
  showPlaceholder("Asking the control API for the services…");
  connect(&timer_, &QTimer::timeout, this, &ServicesPanel::refresh);
  timer_.start(1000);
  refresh();
}

void ServicesPanel::fitColumns() {
  // Sized to the rows as they first arrive, when CPU and RSS are often not sampled yet
  // ("—"), so the measured columns get at least the width of a wide typical value. Only
  // new rows resize: the table does not jump as values change every second.
  view_->resizeColumnsToContents();
  const QFontMetrics fm(view_->font());
  const int margin = 2 * (view_->style()->pixelMetric(QStyle::PM_FocusFrameHMargin, nullptr, view_) + 1) +
                     fm.averageCharWidth();
  const std::pair<int, const char*> kWidest[] = {{ServicesModel::kPid, "4194304"},
                                                 {ServicesModel::kRestarts, "999"},
                                                 {ServicesModel::kCpu, "100.0 %"},
                                                 {ServicesModel::kRss, "999.9 MiB"},
                                                 {ServicesModel::kUptime, "59 m 59 s"}};
  for (const auto& [column, text] : kWidest) {
    const int wanted = std::max(fm.horizontalAdvance(QString::fromUtf8(text)) + margin,
                                view_->horizontalHeader()->sectionSizeHint(column));
    if (view_->columnWidth(column) < wanted) view_->setColumnWidth(column, wanted);
  }
  view_->horizontalHeader()->setStretchLastSection(true);
}

QString ServicesPanel::selectedService() const {
  const QModelIndexList rows = view_->selectionModel()->selectedRows();
  return rows.isEmpty() ? QString() : model_.at(rows.first().row()).service;
}

void ServicesPanel::updateActions() {
  const bool on = context_.live() && !selectedService().isEmpty();
  for (QAction* a : service_actions_) a->setEnabled(on);
}

void ServicesPanel::showPlaceholder(const QString& text) {
  placeholder_->setText(text);
  stack_->setCurrentWidget(placeholder_);
}

void ServicesPanel::showMessage(const QString& text, bool error) {
  message_->setText(text);
  message_->setStyleSheet(error ? QString("color: %1;").arg(severityText(Severity::kBad, palette()).name()) : QString());
  message_->setVisible(!text.isEmpty());
}

void ServicesPanel::refresh() {
  if (!context_.live() || in_flight_) return;  // one ListServices at a time: a slow bank must not pile them up
  in_flight_ = true;
  context_.client->call(
      this,
      [](Stubs& s) {
        return unary(s.control, &pb::Control::Stub::ListServices, s, pb::ListServicesRequest{}, std::chrono::seconds(3));
      },
      [this](Reply<pb::ListServicesResponse> r) {
        in_flight_ = false;
        if (!r.ok()) {
          last_error_ = describe(r.status);
          if (model_.rowCount() == 0) {
            showPlaceholder("The control API at " + QString::fromStdString(context_.client->address()) +
                            " does not answer:\n" + last_error_ + "\n\nRetrying every second.");
          } else {
            summary_->setText("⚠ not refreshed: " + last_error_);
          }
          return;
        }
        last_error_.clear();
        std::vector<InstanceRow> rows;
        rows.reserve(r.value.instances_size());
        for (const auto& i : r.value.instances()) rows.push_back(rowFromProto(i));
        model_.update(rows);
        int healthy = 0;
        for (const InstanceRow& i : rows) healthy += i.state == "healthy" ? 1 : 0;
        summary_->setText(QString("%1 of %2 healthy").arg(healthy).arg(rows.size()));
        if (rows.empty()) {
          showPlaceholder("The manifest has no services.");
        } else {
          stack_->setCurrentWidget(view_);
        }
        updateActions();
      });
}

void ServicesPanel::act(const QString& action, const QString& service, const QString& signal) {
  if (!context_.live()) return;
  if (service.isEmpty()) {
    showMessage("Select a service first.", true);
    return;
  }
  const std::string svc = service.toStdString(), sig = signal.toStdString(), what = action.toStdString();
  const QString label = action == "kill" ? QString("kill -%1 %2").arg(signal, service) : action + " " + service;
  showMessage(label + "…", false);
  context_.client->call(
      this,
      [svc, sig, what](Stubs& s) {
        pb::ServiceRequest req;
        req.set_service(svc);
        req.set_signal(sig);
        using Stub = pb::Control::Stub;
        auto method = what == "start" ? &Stub::StartService
                      : what == "stop" ? &Stub::StopService
                      : what == "restart" ? &Stub::RestartService
                                          : &Stub::KillService;
        // Stop waits for the grace period: give it longer than a plain read.
        return unary(s.control, method, s, req, std::chrono::seconds(15));
      },
      [this, label](Reply<pb::ServiceActionResponse> r) {
        if (r.ok()) {
          showMessage(r.value.message().empty() ? label + ": done" : QString::fromStdString(r.value.message()), false);
        } else {
          showMessage(label + " failed: " + describe(r.status), true);
        }
        Q_EMIT actionFinished(r.ok(), message_->text());
        refresh();
      });
}

SANDBANK_GUI_PANEL({.id = "services",
                    .title = "Services",
                    .order = 10,
                    .area = Qt::LeftDockWidgetArea,
                    .shortcut = {},
                    .needs_live = false,  // a recording shows its instances, read only
                    .create = [](GuiContext& c, QWidget* parent) -> QWidget* { return new ServicesPanel(c, parent); }})

}  // namespace sandbank::gui
