// MainWindow: docks from the panel registry, menus, the status bar and layout memory.
#include "main_window.h"

#include <sqlite3.h>

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QCoreApplication>
#include <QDockWidget>
#include <QFileDialog>
#include <QMenuBar>
#include <QMessageBox>
#include <QPalette>
#include <QProcess>
#include <QSettings>
#include <QStatusBar>
#include <QStyle>
#include <QStyleFactory>

#include "control_client.h"
#include "control_stubs.h"
#include "flow_feed.h"
#include "panel_registry.h"
#include "system_theme.h"

namespace sandbank::gui {
namespace {

constexpr int kLayoutVersion = 1;

QString formatRate(double eps, quint64 lost) {
  QString s = QString("%1 events/s").arg(eps, 0, 'f', 0);
  s += lost > 0 ? QString("  ·  %1 lost").arg(lost) : QString("  ·  0 lost");
  return s;
}

// Copies a (possibly live, WAL-mode) recording consistently with VACUUM INTO.
QString copyRecording(const QString& from, const QString& to) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(from.toUtf8().constData(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    QString why = db ? sqlite3_errmsg(db) : "cannot open";
    sqlite3_close(db);
    return from + ": " + why;
  }
  QString sql = "VACUUM INTO '" + QString(to).replace("'", "''") + "'";
  char* err = nullptr;
  QString result;
  if (sqlite3_exec(db, sql.toUtf8().constData(), nullptr, nullptr, &err) != SQLITE_OK) {
    result = to + ": " + QString(err ? err : "copy failed");
    sqlite3_free(err);
  }
  sqlite3_close(db);
  return result;
}

}  // namespace

namespace {

QPalette darkPalette() {
  QPalette p;
  const QColor window(37, 39, 43), base(28, 30, 33), text(222, 224, 228), accent(64, 145, 230);
  p.setColor(QPalette::Window, window);
  p.setColor(QPalette::WindowText, text);
  p.setColor(QPalette::Base, base);
  p.setColor(QPalette::AlternateBase, window);
  p.setColor(QPalette::ToolTipBase, base);
  p.setColor(QPalette::ToolTipText, text);
  p.setColor(QPalette::Text, text);
  p.setColor(QPalette::Button, window);
  p.setColor(QPalette::ButtonText, text);
  p.setColor(QPalette::BrightText, QColor(255, 90, 90));
  p.setColor(QPalette::Link, accent);
  p.setColor(QPalette::Highlight, accent);
  p.setColor(QPalette::HighlightedText, Qt::white);
  p.setColor(QPalette::PlaceholderText, QColor(130, 134, 140));
  p.setColor(QPalette::Disabled, QPalette::Text, QColor(120, 120, 120));
  p.setColor(QPalette::Disabled, QPalette::ButtonText, QColor(120, 120, 120));
  p.setColor(QPalette::Disabled, QPalette::WindowText, QColor(120, 120, 120));
  return p;
}

QString g_theme_choice = "system";  // what the user chose; "system" follows the desktop live

}  // namespace

bool isTheme(const QString& theme) { return theme == "system" || theme == "dark" || theme == "light"; }

void applyTheme(const QString& theme) {
  // The desktop's palette as the platform theme gave it, before we changed anything.
  static const QPalette system_palette = QApplication::palette();
  static const bool following = [] {
    QObject::connect(&systemTheme(), &SystemTheme::changed, [] {
      if (g_theme_choice == "system") applyTheme("system");
    });
    return true;
  }();
  (void)following;
  g_theme_choice = theme;
  QApplication::setStyle(QStyleFactory::create("Fusion"));
  ColorScheme scheme = theme == "dark" ? ColorScheme::kDark : theme == "light" ? ColorScheme::kLight
                                                                               : systemTheme().portalScheme();
  if (scheme == ColorScheme::kNoPreference) scheme = colorSchemeOfPalette(system_palette);
  if (scheme == ColorScheme::kDark) {
    // The platform's own palette when it is dark already, else ours.
    QApplication::setPalette(theme == "system" && colorSchemeOfPalette(system_palette) == ColorScheme::kDark
                                 ? system_palette
                                 : darkPalette());
    return;
  }
  QApplication::setPalette(theme == "system" && colorSchemeOfPalette(system_palette) == ColorScheme::kLight
                               ? system_palette
                               : QApplication::style()->standardPalette());
}

MainWindow::MainWindow(GuiContext& context, QWidget* parent) : QMainWindow(parent), context_(context) {
  setObjectName("sandbank-main");
  setWindowTitle(context_.live() ? QString("sandbank — %1").arg(QString::fromStdString(context_.manifest))
                                 : QString("sandbank — %1 (recording)").arg(QString::fromStdString(context_.recording)));
  setDockNestingEnabled(true);
  setDockOptions(QMainWindow::AnimatedDocks | QMainWindow::AllowTabbedDocks | QMainWindow::AllowNestedDocks);
  resize(1600, 1000);

  QMap<Qt::DockWidgetArea, QDockWidget*> first_in_area;
  for (const PanelSpec& spec : PanelRegistry::all()) {
    if (spec.needs_live && !context_.live()) continue;
    auto* dock = new QDockWidget(spec.title, this);
    dock->setObjectName("dock-" + spec.id);
    QWidget* w = spec.create(context_, dock);
    w->setObjectName("panel-" + spec.id);
    dock->setWidget(w);
    if (auto it = first_in_area.find(spec.area); it != first_in_area.end()) {
      tabifyDockWidget(*it, dock);
    } else {
      addDockWidget(spec.area, dock);
      first_in_area.insert(spec.area, dock);
    }
    docks_.insert(spec.id, dock);
  }
  for (QDockWidget* d : first_in_area) d->raise();
  if (first_in_area.contains(Qt::LeftDockWidgetArea)) {
    resizeDocks({first_in_area.value(Qt::LeftDockWidgetArea)}, {520}, Qt::Horizontal);
  }
  if (first_in_area.contains(Qt::BottomDockWidgetArea)) {
    resizeDocks({first_in_area.value(Qt::BottomDockWidgetArea)}, {430}, Qt::Vertical);
  }
  default_state_ = saveState(kLayoutVersion);

  buildMenus();

  clock_label_ = new QLabel(this);
  rate_label_ = new QLabel(formatRate(0, 0), this);
  conn_label_ = new QLabel(this);
  statusBar()->addWidget(conn_label_);
  statusBar()->addPermanentWidget(rate_label_);
  statusBar()->addPermanentWidget(clock_label_);
  connect(context_.feed, &FlowFeed::stats, this, [this](double eps, quint64 lost, bool connected) {
    rate_label_->setText(formatRate(eps, lost));
    if (context_.live()) {
      conn_label_->setText(connected ? QString("● live: %1").arg(QString::fromStdString(context_.client->address()))
                                     : QString("○ connecting to %1").arg(QString::fromStdString(context_.client->address())));
    }
  });
  connect(context_.feed, &FlowFeed::error, this, [this](const QString& m) { statusBar()->showMessage(m, 10000); });
  if (!context_.live()) conn_label_->setText("recording: " + QString::fromStdString(context_.recording));
  connect(&clock_timer_, &QTimer::timeout, this, &MainWindow::refreshStatus);
  clock_timer_.start(1000);
  refreshStatus();

  QSettings settings("sandbank", "sandbank-gui");
  restoreGeometry(settings.value("geometry").toByteArray());
  restoreState(settings.value("state").toByteArray(), kLayoutVersion);
}

QWidget* MainWindow::panel(const QString& id) const {
  QDockWidget* d = docks_.value(id);
  return d ? d->widget() : nullptr;
}
QDockWidget* MainWindow::dock(const QString& id) const { return docks_.value(id); }
QStringList MainWindow::panelIds() const { return docks_.keys(); }

void MainWindow::resetLayout() { restoreState(default_state_, kLayoutVersion); }

void MainWindow::refreshStatus() {
  if (!context_.live()) return;
  context_.client->call(
      this,
      [](Stubs& s) { return unary(s.control, &sandbank::control::Control::Stub::Clock, s, sandbank::control::ClockRequest{}); },
      [this](Reply<sandbank::control::ClockState> r) {
        if (!r.ok()) {
          clock_label_->setText("clock: " + describe(r.status));
          return;
        }
        QString now = QString::fromStdString(r.value.now());
        if (r.value.offset_seconds() != 0) {
          now += QString("  (+%1 s)").arg(r.value.offset_seconds());
        }
        clock_label_->setText("sim " + now);
      });
}

void MainWindow::buildMenus() {
  QMenu* file = menuBar()->addMenu("&File");
  QAction* open = file->addAction("&Open recording…", this, &MainWindow::openRecording);
  open->setShortcut(QKeySequence::Open);
  QAction* save = file->addAction("&Save run as…", this, &MainWindow::saveRecording);
  save->setShortcut(QKeySequence::Save);
  save->setEnabled(!context_.recording.empty());
  file->addSeparator();
  QAction* quit = file->addAction("&Quit", this, &QWidget::close);
  quit->setShortcut(QKeySequence::Quit);

  QMenu* view = menuBar()->addMenu("&View");
  int n = 0;
  for (const PanelSpec& spec : PanelRegistry::all()) {
    QDockWidget* d = docks_.value(spec.id);
    if (d == nullptr) continue;
    QAction* a = view->addAction(spec.title);
    a->setShortcut(!spec.shortcut.isEmpty() ? spec.shortcut
                                            : (n < 9 ? QKeySequence(Qt::CTRL | Qt::Key(Qt::Key_1 + n)) : QKeySequence()));
    connect(a, &QAction::triggered, d, [d] {
      d->show();
      d->raise();
      if (d->widget()) d->widget()->setFocus();
    });
    ++n;
  }
  view->addSeparator();
  view->addAction("Reset layout", this, &MainWindow::resetLayout);
  QMenu* theme = view->addMenu("Theme");
  theme->addAction("Follow the system", [] { applyTheme("system"); });
  theme->addAction("Dark", [] { applyTheme("dark"); });
  theme->addAction("Light", [] { applyTheme("light"); });
}

void MainWindow::openRecording() {
  QString path = QFileDialog::getOpenFileName(this, "Open a recording", QString(), "sandbank recordings (*.db *.sqlite);;All files (*)");
  if (path.isEmpty()) return;
  // A recording opens in its own window, so the live bank keeps running here.
  if (!QProcess::startDetached(QCoreApplication::applicationFilePath(), {"--open", path})) {
    QMessageBox::warning(this, "sandbank", "Could not start a viewer for " + path);
  }
}

void MainWindow::saveRecording() {
  QString to = QFileDialog::getSaveFileName(this, "Save the run", "sandbank-run.db", "sandbank recordings (*.db)");
  if (to.isEmpty()) return;
  QString err = copyRecording(QString::fromStdString(context_.recording), to);
  if (err.isEmpty()) {
    statusBar()->showMessage("Saved the run to " + to, 5000);
  } else {
    QMessageBox::warning(this, "sandbank", "Could not save the run: " + err);
  }
}

void MainWindow::closeEvent(QCloseEvent* event) {
  QSettings settings("sandbank", "sandbank-gui");
  settings.setValue("geometry", saveGeometry());
  settings.setValue("state", saveState(kLayoutVersion));
  event->accept();
}

}  // namespace sandbank::gui
