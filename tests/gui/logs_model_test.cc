// LogsModel and LogsFilter: lines arrive in one insert per batch, the bound drops the
// oldest, and the filters by service, level and text keep exactly the matching lines;
// the logs panel follows the focused service and turns a click on a trace into a selection,
// and shows a recording's logs table when a recording is open instead of a live bank.
#include <QLabel>
#include <QSignalSpy>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>

#include "panels/logs_model.h"
#include "panels/logs_panel.h"
#include "panels/services_severity.h"
#include "sandbank/flow/recorder.h"

namespace sandbank::gui {
namespace {

LogRow line(uint64_t seq, const QString& service, LogLevel level, const QString& message, const QString& trace = {}) {
  LogRow r;
  r.seq = seq;
  r.time = "2026-11-28T10:00:00.000000Z";
  r.service = service;
  r.instance = service + "-1";
  r.level = level;
  r.message = message;
  r.trace = trace;
  return r;
}

std::vector<LogRow> lines(uint64_t first, int n, const QString& service = "ledger") {
  std::vector<LogRow> out;
  for (int i = 0; i < n; ++i) out.push_back(line(first + i, service, LogLevel::kInfo, QString("line %1").arg(first + i)));
  return out;
}

}  // namespace

class LogsModelTest : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void aBatchOfLinesIsInsertedWithOneInsertAtTheEnd() {
    LogsModel model;
    QSignalSpy inserts(&model, &QAbstractItemModel::rowsAboutToBeInserted);
    model.append(lines(1, 1000));
    QCOMPARE(inserts.count(), 1);
    QCOMPARE(inserts.at(0).at(1).toInt(), 0);
    QCOMPARE(inserts.at(0).at(2).toInt(), 999);
    model.append(lines(1001, 10));
    QCOMPARE(inserts.count(), 2);
    QCOMPARE(inserts.at(1).at(1).toInt(), 1000);
    QCOMPARE(model.rowCount(), 1010);
    QCOMPARE(model.at(1009).seq, uint64_t(1010));
  }

  void theBoundDropsTheOldestLinesInOneRemoval() {
    LogsModel model(100);
    model.append(lines(1, 60));
    QSignalSpy removes(&model, &QAbstractItemModel::rowsAboutToBeRemoved);
    QSignalSpy inserts(&model, &QAbstractItemModel::rowsAboutToBeInserted);
    model.append(lines(61, 60));
    QCOMPARE(model.rowCount(), 100);
    QCOMPARE(removes.count(), 1);
    QCOMPARE(removes.at(0).at(1).toInt(), 0);
    QCOMPARE(removes.at(0).at(2).toInt(), 19);
    QCOMPARE(inserts.count(), 1);
    QCOMPARE(model.at(0).seq, uint64_t(21));   // 1..20 went
    QCOMPARE(model.at(99).seq, uint64_t(120));
    QCOMPARE(model.dropped(), uint64_t(20));
  }

  void aBatchLargerThanTheBoundKeepsOnlyItsNewestLines() {
    LogsModel model(50);
    model.append(lines(1, 10));
    model.append(lines(11, 120));
    QCOMPARE(model.rowCount(), 50);
    QCOMPARE(model.at(0).seq, uint64_t(81));
    QCOMPARE(model.at(49).seq, uint64_t(130));
    QCOMPARE(model.dropped(), uint64_t(80));
  }

  void filtersKeepOnlyTheServiceTheLevelAndTheTextAsked() {
    LogsModel model;
    LogsFilter filter(&model);
    model.append({line(1, "ledger", LogLevel::kDebug, "opening the books"),
                  line(2, "ledger", LogLevel::kError, "posting refused: overdraft", "trace-a"),
                  line(3, "card", LogLevel::kInfo, "authorised card payment"),
                  line(4, "card", LogLevel::kWarn, "fraud check slow", "trace-b"),
                  line(5, "fraud", LogLevel::kError, "model timeout")});
    QCOMPARE(filter.rowCount(), 5);

    filter.setService("card");
    QCOMPARE(filter.rowCount(), 2);
    QCOMPARE(filter.index(0, LogsModel::kMessage).data().toString(), QString("authorised card payment"));

    filter.setService({});
    filter.setMinimumLevel(LogLevel::kWarn);
    QCOMPARE(filter.rowCount(), 3);  // 2, 4, 5
    filter.setMinimumLevel(LogLevel::kError);
    QCOMPARE(filter.rowCount(), 2);

    filter.setMinimumLevel(LogLevel::kDebug);
    filter.setText("REFUSED");  // case-insensitive
    QCOMPARE(filter.rowCount(), 1);
    QCOMPARE(filter.index(0, LogsModel::kTrace).data().toString(), QString("trace-a"));
    filter.setText("trace-b");  // trace ids are searchable too
    QCOMPARE(filter.rowCount(), 1);

    // All three at once, and lines that arrive later are filtered as they come.
    filter.setText("slow");
    filter.setService("card");
    filter.setMinimumLevel(LogLevel::kWarn);
    QCOMPARE(filter.rowCount(), 1);
    model.append({line(6, "card", LogLevel::kWarn, "issuer slow again"), line(7, "card", LogLevel::kInfo, "slow but fine"),
                  line(8, "ledger", LogLevel::kWarn, "slow disk")});
    QCOMPARE(filter.rowCount(), 2);
  }

  void errorLinesAreMarkedForHighlighting() {
    LogsModel model;
    model.append({line(1, "ledger", LogLevel::kError, "boom"), line(2, "ledger", LogLevel::kInfo, "fine")});
    QVERIFY(model.index(0, 0).data(kRowSeverityRole).toInt() == static_cast<int>(Severity::kBad));
    QVERIFY(model.index(1, 0).data(kRowSeverityRole).toInt() == static_cast<int>(Severity::kNone));
  }

  void thePanelFollowsTheFocusedServiceAndAClickOnATraceSelectsIt() {
    Selection selection;
    GuiContext context;
    context.selection = &selection;
    LogsPanel panel(context);
    panel.model()->append({line(1, "ledger", LogLevel::kInfo, "a"), line(2, "card", LogLevel::kInfo, "b", "trace-7")});

    selection.focusService("card");
    QCOMPARE(panel.filter()->service(), QString("card"));
    QCOMPARE(panel.filter()->rowCount(), 1);

    QSignalSpy traces(&selection, &Selection::traceSelected);
    auto* view = panel.findChild<QTableView*>();
    QVERIFY(view != nullptr);
    panel.resize(900, 300);
    panel.show();
    QVERIFY(QTest::qWaitForWindowExposed(&panel));
    const QModelIndex cell = panel.filter()->index(0, LogsModel::kTrace);
    QTest::mouseClick(view->viewport(), Qt::LeftButton, {}, view->visualRect(cell).center());
    QCOMPARE(traces.count(), 1);
    QCOMPARE(traces.at(0).at(0).toString(), QString("trace-7"));

    selection.focusService({});
    QCOMPARE(panel.filter()->rowCount(), 2);
  }

  void aRecordingsLogsAreShownWithTheirLevelsTracesAndFields() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const std::string path = dir.filePath("run.db").toStdString();
    {
      auto rec = flow::Recorder::create(path, flow::RunInfo{});
      QVERIFY2(rec.ok(), rec.status().message().c_str());
      flow::LogEntry a;
      a.time_sim_us = 1'795'000'000'123'000;  // 2026-11-18T...
      a.service = "ledger";
      a.instance = "ledger-1";
      a.level = sandbank::LogLevel::kWarn;
      a.trace_id = "trace-9";
      a.message = "balance cache rebuilt";
      a.fields = {{"address", "account:a1:main"}};
      flow::LogEntry b;
      b.time_sim_us = a.time_sim_us + 1000;
      b.service = "card";
      b.instance = "card-1";
      b.level = sandbank::LogLevel::kError;
      b.message = "card service restarted";
      QVERIFY((*rec)->recordLog(a));
      QVERIFY((*rec)->recordLog(b));
      QVERIFY((*rec)->close().ok());
    }
    Selection selection;
    GuiContext context;
    context.selection = &selection;
    context.recording = path;  // no client: not live
    LogsPanel panel(context);
    QTRY_COMPARE_WITH_TIMEOUT(panel.model()->rowCount(), 2, 5000);
    const LogRow& first = panel.model()->at(0);
    QCOMPARE(first.instance, QString("ledger-1"));
    QCOMPARE(first.level, LogLevel::kWarn);
    QCOMPARE(first.trace, QString("trace-9"));
    QCOMPARE(first.message, QString("balance cache rebuilt address=account:a1:main"));
    QVERIFY2(first.time.endsWith(".123Z"), qPrintable(first.time));
    QCOMPARE(panel.model()->at(1).level, LogLevel::kError);
    auto* status = panel.findChild<QLabel*>("logs-status");
    QVERIFY(status != nullptr);
    QTRY_VERIFY(status->text().startsWith("2 lines"));

    // A file that is not a recording says why instead of staying empty.
    const std::string bogus = dir.filePath("not-a-recording.db").toStdString();
    QFile f(QString::fromStdString(bogus));
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("hello");
    f.close();
    context.recording = bogus;
    LogsPanel broken(context);
    auto* broken_status = broken.findChild<QLabel*>("logs-status");
    QTRY_VERIFY_WITH_TIMEOUT(broken_status->text().startsWith("⚠"), 5000);
    QVERIFY2(broken_status->text().contains("not-a-recording.db"), qPrintable(broken_status->text()));
  }
};

}  // namespace sandbank::gui

QTEST_MAIN(sandbank::gui::LogsModelTest)
#include "logs_model_test.moc"
