// sandbank-gui: the desktop app. With no arguments it runs the reference bank in this
// process; --attach watches a running `sandbank up`; --open views a recording.
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <QApplication>
#include <QCommandLineParser>
#include <QDir>
#include <QMessageBox>
#include <QSocketNotifier>
#include <QTimer>

#include <iostream>

#include "app.h"
#include "main_window.h"
#include "screenshots.h"

namespace {

int g_signal_pipe[2] = {-1, -1};

void onSignal(int) {
  char c = 1;
  (void)!::write(g_signal_pipe[1], &c, 1);
}

}  // namespace

int main(int argc, char** argv) {
  QApplication qapp(argc, argv);
  QApplication::setApplicationName("sandbank-gui");
  QApplication::setOrganizationName("sandbank");

  QCommandLineParser cli;
  cli.setApplicationDescription("sandbank: watch and steer a simulated bank live.");
  cli.addHelpOption();
  QCommandLineOption manifest({"f", "manifest"}, "The bank to run in this process (default: bank.yaml).", "PATH");
  QCommandLineOption attach("attach", "Watch the bank a running `sandbank up` serves (its run-state file; empty: the default).", "STATE");
  QCommandLineOption attach_default("attach-default", "Watch the bank of the default run-state file.");
  QCommandLineOption open("open", "View a recording instead of a live bank.", "FILE");
  QCommandLineOption record("record", "Where the in-process run records (default: the run folder).", "FILE");
  QCommandLineOption demo("demo", "Run a gentle, endless load of simulated customers.");
  QCommandLineOption seed("seed", "Seed for the run and the demo load.", "N", "1");
  QCommandLineOption theme("theme", "system, dark or light.", "THEME", "system");
  QCommandLineOption scenarios("scenarios", "Folder the Scenarios panel lists.", "DIR");
  QCommandLineOption shots("screenshots", "Save every panel as PNG into DIR after --settle seconds, then exit.", "DIR");
  QCommandLineOption settle("settle", "Seconds to wait before --screenshots.", "S", "5");
  cli.addOptions({manifest, attach, attach_default, open, record, demo, seed, theme, scenarios, shots, settle});
  cli.process(qapp);

  if (!sandbank::gui::isTheme(cli.value(theme))) {
    std::cerr << "sandbank-gui: --theme must be system, dark or light, not '" << cli.value(theme).toStdString()
              << "'\n";
    return 2;
  }
  sandbank::gui::applyTheme(cli.value(theme));

  sandbank::gui::AppOptions o;
  o.manifest = cli.value(manifest).toStdString();
  o.attach = cli.value(attach).toStdString();
  o.attach_default = cli.isSet(attach_default);
  o.open = cli.value(open).toStdString();
  o.record = cli.value(record).toStdString();
  o.demo = cli.isSet(demo);
  o.seed = cli.value(seed).toULongLong();
  o.scenarios_dir = cli.value(scenarios).toStdString();

  // SIGINT/SIGTERM close the window cleanly, so every service is stopped.
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, g_signal_pipe) == 0) {
    struct sigaction sa = {};
    sa.sa_handler = onSignal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
  }

  sandbank::gui::App app(o);
  if (sandbank::Status s = app.start(); !s.ok()) {
    std::cerr << "sandbank-gui: " << s.message() << "\n";
    if (!cli.isSet(shots)) QMessageBox::critical(nullptr, "sandbank", QString::fromStdString(s.message()));
    return s.code() == sandbank::StatusCode::kInvalidArgument ? 2 : 1;
  }
  sandbank::gui::MainWindow window(app.context());
  window.show();

  QSocketNotifier notifier(g_signal_pipe[0], QSocketNotifier::Read);
  QObject::connect(&notifier, &QSocketNotifier::activated, &window, [&window] { window.close(); });

  if (cli.isSet(shots)) {
    const QString dir = cli.value(shots);
    QTimer::singleShot(static_cast<int>(cli.value(settle).toDouble() * 1000), &window, [&window, dir] {
      QStringList saved = sandbank::gui::saveScreenshots(window, dir);
      for (const QString& f : saved) std::cout << f.toStdString() << "\n";
      window.close();
    });
  }
  return qapp.exec();
}
