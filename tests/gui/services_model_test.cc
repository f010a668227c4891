// ServicesModel: successive ListServices replies update rows in place (no reset, selection
// survives), only rows that changed repaint, and a rising restart count is flagged for a
// while, then the flag clears. With a recording open, the panel shows each instance as the
// run last saw it, from the recording's process history.
#include <QPersistentModelIndex>
#include <QSignalSpy>
#include <QTest>

#include <QTemporaryDir>

#include <map>

#include "panels/services_model.h"
#include "panels/services_panel.h"
#include "panels/services_severity.h"
#include "sandbank/flow/recorder.h"

namespace sandbank::gui {
namespace {

InstanceRow instance(const QString& service, const QString& state, int restarts = 0) {
  InstanceRow r;
  r.service = service;
  r.instance = service + "-1";
  r.state = state;
  r.pid = 100;
  r.port = 5000;
  r.restarts = restarts;
  r.health = state == "healthy" ? "SERVING" : "";
  return r;
}

int severity(const ServicesModel& m, int row, int column, int role = kSeverityRole) {
  return m.index(row, column).data(role).toInt();
}

}  // namespace

class ServicesModelTest : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void aSecondReplyUpdatesRowsInPlaceAndRepaintsOnlyWhatChanged() {
    ServicesModel model;
    model.update({instance("ledger", "healthy"), instance("card", "healthy"), instance("fraud", "starting")});
    QCOMPARE(model.rowCount(), 3);
    QPersistentModelIndex card(model.index(1, 0));

    QSignalSpy resets(&model, &QAbstractItemModel::modelReset);
    QSignalSpy inserts(&model, &QAbstractItemModel::rowsInserted);
    QSignalSpy removes(&model, &QAbstractItemModel::rowsRemoved);
    QSignalSpy changes(&model, &QAbstractItemModel::dataChanged);
    model.update({instance("ledger", "healthy"), instance("card", "healthy"), instance("fraud", "healthy")});
    QCOMPARE(resets.count(), 0);
    QCOMPARE(inserts.count(), 0);
    QCOMPARE(removes.count(), 0);
    QCOMPARE(changes.count(), 1);  // only fraud changed
    QCOMPARE(changes.at(0).at(0).toModelIndex().row(), 2);
    QCOMPARE(model.index(2, ServicesModel::kState).data().toString(), QString("healthy"));
    QVERIFY(card.isValid());
    QCOMPARE(card.data().toString(), QString("card-1"));
  }

  void instancesThatAppearOrGoAreInsertedOrRemoved() {
    ServicesModel model;
    model.update({instance("ledger", "healthy"), instance("card", "healthy")});
    QSignalSpy inserts(&model, &QAbstractItemModel::rowsInserted);
    model.update({instance("card", "healthy"), instance("fps", "pending")});
    QCOMPARE(model.rowCount(), 2);
    QCOMPARE(inserts.count(), 1);
    QCOMPARE(model.at(0).instance, QString("card-1"));
    QCOMPARE(model.at(1).instance, QString("fps-1"));
    QCOMPARE(model.rowOf("ledger-1"), -1);
  }

  void statesAreColouredBySeverity() {
    ServicesModel model;
    model.update({instance("a", "healthy"), instance("b", "backoff"), instance("c", "failed"), instance("d", "stopped")});
    QCOMPARE(severity(model, 0, ServicesModel::kState), static_cast<int>(Severity::kGood));
    QCOMPARE(severity(model, 1, ServicesModel::kState), static_cast<int>(Severity::kBad));
    QCOMPARE(severity(model, 2, ServicesModel::kState), static_cast<int>(Severity::kBad));
    QCOMPARE(severity(model, 2, 0, kRowSeverityRole), static_cast<int>(Severity::kBad));
    QCOMPARE(severity(model, 3, ServicesModel::kState), static_cast<int>(Severity::kMuted));
  }

  void aRisingRestartCountIsFlaggedThenTheFlagClears() {
    ServicesModel model;
    // Restarts before the GUI looked are history: counted, not flagged as news.
    model.update({instance("ledger", "healthy", 2)});
    QVERIFY(!model.recentlyRestarted(0));
    QCOMPARE(severity(model, 0, ServicesModel::kRestarts), static_cast<int>(Severity::kWarn));

    InstanceRow crashed = instance("ledger", "backoff", 3);
    crashed.last_exit = "killed by SIGKILL";
    crashed.pid = 0;
    model.update({crashed});
    QVERIFY(model.recentlyRestarted(0));
    QVERIFY(model.index(0, 0).data(ServicesModel::kRestartedRole).toBool());
    QCOMPARE(severity(model, 0, ServicesModel::kRestarts), static_cast<int>(Severity::kBad));
    QVERIFY(model.index(0, ServicesModel::kHealth).data().toString().contains("last exit: killed by SIGKILL"));

    InstanceRow back = instance("ledger", "healthy", 3);
    back.last_exit = "killed by SIGKILL";
    for (int i = 1; i < ServicesModel::kFlagRefreshes; ++i) {
      model.update({back});
      QVERIFY2(model.recentlyRestarted(0), qPrintable(QString("refresh %1").arg(i)));
    }
    QCOMPARE(severity(model, 0, 0, kRowSeverityRole), static_cast<int>(Severity::kWarn));
    // The refresh that ends the flag repaints the row although nothing else changed.
    QSignalSpy changes(&model, &QAbstractItemModel::dataChanged);
    model.update({back});
    QVERIFY(!model.recentlyRestarted(0));
    QCOMPARE(changes.count(), 1);
    QCOMPARE(severity(model, 0, ServicesModel::kRestarts), static_cast<int>(Severity::kWarn));
    QCOMPARE(severity(model, 0, 0, kRowSeverityRole), static_cast<int>(Severity::kNone));
  }

  void cpuAndRssReadAsMeasuredAndAsADashWhenNothingMeasuredThem() {
    InstanceRow live = instance("ledger", "healthy");
    live.cpu_percent = 2.5;
    live.rss_bytes = 3 * 1024 * 1024;
    InstanceRow recorded = instance("card", "healthy");  // same pid, but from a recording
    recorded.measured = false;
    ServicesModel model;
    model.update({live, recorded});
    QCOMPARE(model.index(0, ServicesModel::kCpu).data().toString(), QString("2.5 %"));
    QCOMPARE(model.index(0, ServicesModel::kRss).data().toString(), QString("3.0 MiB"));
    QVERIFY(!model.index(0, ServicesModel::kCpu).data(Qt::ToolTipRole).toString().contains("no CPU"));
    QCOMPARE(model.index(1, ServicesModel::kCpu).data().toString(), QString("—"));
    QCOMPARE(model.index(1, ServicesModel::kRss).data().toString(), QString("—"));
  }

  void measuredColumnsHaveRoomForWideValuesThatArriveAfterTheRows() {
    Selection selection;
    GuiContext context;
    context.selection = &selection;
    ServicesPanel panel(context);
    panel.resize(800, 300);
    panel.show();
    QVERIFY(QTest::qWaitForWindowExposed(&panel));
    // Given rows first seen before anything was sampled ("—" for CPU, RSS and uptime)...
    InstanceRow row = instance("ledger", "starting");
    row.pid = 0;
    panel.model()->update({row});
    QTableView* view = panel.view();
    const int columns[] = {ServicesModel::kPid, ServicesModel::kRestarts, ServicesModel::kCpu, ServicesModel::kRss,
                           ServicesModel::kUptime};
    std::map<int, int> first;
    for (int c : columns) first[c] = view->columnWidth(c);
    // ...when wide values arrive, they fit (in bold, as a flagged cell is drawn), and the
    // columns keep their widths: the table does not jump on a refresh.
    row.state = "healthy";
    row.pid = 4194303;
    row.restarts = 12;
    row.cpu_percent = 99.9;
    row.rss_bytes = 1048471142;  // 999.9 MiB
    row.uptime_seconds = 3599;
    panel.model()->update({row});
    QCOMPARE(panel.model()->index(0, ServicesModel::kRss).data().toString(), QString("999.9 MiB"));
    QFont bold = view->font();
    bold.setBold(true);
    const QFontMetrics fm(bold);
    for (int c : columns) {
      const QString text = panel.model()->index(0, c).data().toString();
      QVERIFY2(fm.horizontalAdvance(text) < view->columnWidth(c),
               qPrintable(QString("column %1: '%2' needs %3 px, has %4").arg(c).arg(text).arg(fm.horizontalAdvance(text)).arg(view->columnWidth(c))));
      QCOMPARE(view->columnWidth(c), first[c]);
    }
  }

  void aRecordingShowsEachInstanceAsTheRunLastSawIt() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const std::string path = dir.filePath("run.db").toStdString();
    {
      auto rec = flow::Recorder::create(path, flow::RunInfo{});
      QVERIFY2(rec.ok(), rec.status().message().c_str());
      auto change = [&](const char* instance, int64_t pid, flow::ProcessState state, std::optional<int> code = {}) {
        flow::ProcessRecord p;
        p.service = std::string(instance).substr(0, std::string(instance).rfind('-'));
        p.instance = instance;
        p.pid = pid;
        p.state = state;
        p.exit_code = code;
        QVERIFY((*rec)->recordProcess(p));
      };
      // The records a run writes: ledger-1 crashes and the restart policy starts it again
      // ("restarting" before the start); both are then stopped and started twice by the
      // resets between scenarios ("stopping", "stopped": exited records, no "restarting").
      change("ledger-1", 10, flow::ProcessState::kStarting);
      change("ledger-1", 10, flow::ProcessState::kReady);
      change("card-1", 11, flow::ProcessState::kStarting);
      change("card-1", 11, flow::ProcessState::kReady);
      change("ledger-1", 10, flow::ProcessState::kKilled, 137);
      change("ledger-1", 10, flow::ProcessState::kRestarting);
      change("ledger-1", 12, flow::ProcessState::kStarting);
      change("ledger-1", 12, flow::ProcessState::kReady);
      int pid = 20;
      for (int reset = 0; reset < 2; ++reset) {
        for (const char* instance : {"card-1", "ledger-1"}) {
          change(instance, 0, flow::ProcessState::kExited);
          change(instance, 0, flow::ProcessState::kExited);
          change(instance, pid, flow::ProcessState::kStarting);
          change(instance, pid, flow::ProcessState::kReady);
          ++pid;
        }
      }
      change("card-1", 11, flow::ProcessState::kExited, 0);
      QVERIFY((*rec)->close().ok());
    }
    Selection selection;
    GuiContext context;
    context.selection = &selection;
    context.recording = path;
    ServicesPanel panel(context);
    QSignalSpy shown(&panel, &ServicesPanel::historyShown);
    QVERIFY(shown.wait(5000));
    ServicesModel& model = *panel.model();
    QCOMPARE(model.rowCount(), 2);
    QCOMPARE(model.at(0).instance, QString("card-1"));
    QCOMPARE(model.at(0).state, QString("stopped"));  // a clean exit
    QCOMPARE(model.at(0).last_exit, QString("exit code 0"));
    QCOMPARE(model.at(0).restarts, 0);  // started three times, by the run and two resets: no crash
    QCOMPARE(model.at(1).instance, QString("ledger-1"));
    QCOMPARE(model.at(1).state, QString("healthy"));
    QCOMPARE(model.at(1).pid, 23);
    QCOMPARE(model.at(1).restarts, 1);  // the crash, not the resets
    QCOMPARE(model.at(1).last_exit, QString("killed"));
    // The processes are gone and nothing measured them: no made-up 0.0 % or 0 bytes.
    for (int row : {0, 1}) {
      QCOMPARE(model.index(row, ServicesModel::kCpu).data().toString(), QString("—"));
      QCOMPARE(model.index(row, ServicesModel::kRss).data().toString(), QString("—"));
      QVERIFY(model.index(row, ServicesModel::kCpu).data(Qt::ToolTipRole).toString().contains("no CPU"));
    }
    panel.act("restart", "ledger");  // no live bank: nothing to steer, nothing happens
    QVERIFY(panel.lastMessage().isEmpty());
  }
};

}  // namespace sandbank::gui

QTEST_MAIN(sandbank::gui::ServicesModelTest)
#include "services_model_test.moc"
