// The services, faults, clock, logs and bus panels against the real bank, in process: a
// kill through the services panel's action shows up as a rising restart count in its model
// (a Restart through the panel does not: it is not a crash), a rule added through the
// faults panel is listed (and a bad one shows the server's reason), the clock panel moves
// simulated time, the logs panel receives the services' lines, and the bus panel shows
// every consumer group's state and members, with the lag detail's columns all in view.
// One bank for the whole file: starting it costs seconds.
#include <QAction>
#include <QSignalSpy>
#include <QTableWidget>
#include <QTest>

#include <memory>

#include "app.h"
#include "panels/bus_panel.h"
#include "panels/clock_panel.h"
#include "panels/faults_panel.h"
#include "panels/logs_panel.h"
#include "panels/services_panel.h"

namespace sandbank::gui {

class LiveServicesFaultsTest : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() {
    AppOptions o;
    o.manifest = SANDBANK_SOURCE_DIR "/bank.yaml";
    o.bin_dir = SANDBANK_BIN_DIR;
    app_ = std::make_unique<App>(o);
    Status s = app_->start();
    QVERIFY2(s.ok(), s.message().c_str());
  }
  void cleanupTestCase() { app_.reset(); }

  void killingAServiceFromThePanelRaisesItsRestartCount() {
    ServicesPanel panel(app_->context());
    ServicesModel* model = panel.model();
    QTRY_VERIFY_WITH_TIMEOUT(model->firstRowOfService("notification") >= 0, 10000);
    const QString instance = model->at(model->firstRowOfService("notification")).instance;
    QTRY_COMPARE_WITH_TIMEOUT(model->at(model->rowOf(instance)).state, QString("healthy"), 15000);
    const int before = model->at(model->rowOf(instance)).restarts;

    panel.view()->selectRow(model->rowOf(instance));
    QCOMPARE(panel.selectedService(), QString("notification"));
    QCOMPARE(app_->context().selection->service(), QString("notification"));  // the row focused the service
    auto* kill = panel.findChild<QAction*>("service-kill-KILL");
    QVERIFY(kill != nullptr);
    QSignalSpy finished(&panel, &ServicesPanel::actionFinished);
    kill->trigger();
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 10000);
    QVERIFY2(finished.at(0).at(0).toBool(), qPrintable(finished.at(0).at(1).toString()));

    QTRY_VERIFY_WITH_TIMEOUT(model->at(model->rowOf(instance)).restarts > before, 15000);
    QVERIFY(model->recentlyRestarted(model->rowOf(instance)));
    QVERIFY2(model->at(model->rowOf(instance)).last_exit.contains("SIGKILL"),
             qPrintable(model->at(model->rowOf(instance)).last_exit));
  }

  void restartingAServiceFromThePanelIsNotCountedAsACrash() {
    ServicesPanel panel(app_->context());
    ServicesModel* model = panel.model();
    QTRY_VERIFY_WITH_TIMEOUT(model->firstRowOfService("feed") >= 0, 10000);
    const QString instance = model->at(model->firstRowOfService("feed")).instance;
    QTRY_COMPARE_WITH_TIMEOUT(model->at(model->rowOf(instance)).state, QString("healthy"), 15000);
    const int before = model->at(model->rowOf(instance)).restarts;
    const int old_pid = model->at(model->rowOf(instance)).pid;

    panel.view()->selectRow(model->rowOf(instance));
    auto* restart = panel.findChild<QAction*>("service-restart");
    QVERIFY(restart != nullptr);
    QSignalSpy finished(&panel, &ServicesPanel::actionFinished);
    restart->trigger();
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 20000);
    QVERIFY2(finished.at(0).at(0).toBool(), qPrintable(finished.at(0).at(1).toString()));

    // A new process, healthy again, and the count a person reads as "crashed" unchanged.
    QTRY_VERIFY_WITH_TIMEOUT(model->at(model->rowOf(instance)).pid != old_pid &&
                                 model->at(model->rowOf(instance)).state == "healthy",
                             15000);
    QCOMPARE(model->at(model->rowOf(instance)).restarts, before);
    QVERIFY(!model->recentlyRestarted(model->rowOf(instance)));
  }

  void aRuleAddedThroughThePanelIsListedAndABadOneShowsTheReason() {
    FaultsPanel panel(app_->context());
    QSignalSpy submitted(&panel, &FaultsPanel::ruleSubmitted);

    sandbank::control::FaultRule rule;
    rule.set_id("gui-slow-ledger");
    rule.set_destination("ledger");
    rule.set_action("delay");
    rule.set_delay("20ms");
    rule.set_probability(0.5);
    panel.submitRule(rule);
    QTRY_COMPARE_WITH_TIMEOUT(submitted.count(), 1, 10000);
    QVERIFY2(submitted.at(0).at(0).toBool(), qPrintable(submitted.at(0).at(1).toString()));
    QTRY_VERIFY_WITH_TIMEOUT(panel.model()->rowOf("gui-slow-ledger") >= 0, 10000);
    const int row = panel.model()->rowOf("gui-slow-ledger");
    QCOMPARE(QString::fromStdString(panel.model()->at(row).delay()), QString("20ms"));
    QVERIFY(panel.model()->index(row, FaultsModel::kAction).data().toString().contains("delay 20ms"));

    // Edit: same id, new delay; the list shows the new rule, once.
    rule.set_delay("30ms");
    panel.submitRule(rule, "gui-slow-ledger");
    QTRY_COMPARE_WITH_TIMEOUT(submitted.count(), 2, 10000);
    QVERIFY2(submitted.at(1).at(0).toBool(), qPrintable(submitted.at(1).at(1).toString()));
    QTRY_COMPARE_WITH_TIMEOUT(QString::fromStdString(panel.model()->at(panel.model()->rowOf("gui-slow-ledger")).delay()),
                              QString("30ms"), 10000);
    QCOMPARE(panel.model()->rowCount(), 1);

    // A partition with one side: the server says why, and the panel shows it.
    sandbank::control::FaultRule bad;
    bad.set_id("gui-bad");
    bad.set_action("partition");
    bad.add_side_a("ledger");
    panel.submitRule(bad);
    QTRY_COMPARE_WITH_TIMEOUT(submitted.count(), 3, 10000);
    QVERIFY(!submitted.at(2).at(0).toBool());
    QVERIFY2(panel.lastMessage().contains("INVALID_ARGUMENT") && panel.lastMessage().contains("both sides"),
             qPrintable(panel.lastMessage()));
    QCOMPARE(panel.model()->rowOf("gui-bad"), -1);

    panel.removeRule({});
    QTRY_COMPARE_WITH_TIMEOUT(panel.model()->rowCount(), 0, 10000);
  }

  void theClockPanelAdvancesSimulatedTimeAndShowsARefusal() {
    ClockPanel panel(app_->context());
    QSignalSpy advanced(&panel, &ClockPanel::advanced);
    panel.advance("2d");
    QTRY_COMPARE_WITH_TIMEOUT(advanced.count(), 1, 10000);
    QVERIFY2(advanced.at(0).at(0).toBool(), qPrintable(advanced.at(0).at(1).toString()));
    QVERIFY2(panel.offsetText().contains("+2 d"), qPrintable(panel.offsetText()));
    panel.advance("soon");
    QTRY_COMPARE_WITH_TIMEOUT(advanced.count(), 2, 10000);
    QVERIFY(!advanced.at(1).at(0).toBool());
    QVERIFY2(panel.errorText().contains("INVALID_ARGUMENT"), qPrintable(panel.errorText()));
  }

  void everyConsumerGroupShowsItsStateAndMembersAndTheLagDetailFits() {
    BusPanel panel(app_->context());
    panel.resize(800, 650);  // the Bus dock at the default window size
    panel.show();
    QVERIFY(QTest::qWaitForWindowExposed(&panel));
    auto* groups = panel.findChild<QTableWidget*>("bus-groups");
    auto* detail = panel.findChild<QTableWidget*>("bus-group-lag");
    QVERIFY(groups != nullptr && detail != nullptr);
    auto text = [](QTableWidget* t, int row, int column) {
      return t->item(row, column) != nullptr ? t->item(row, column)->text() : QString();
    };
    // The services' consumers join as they start: several groups, not only the selected one.
    QTRY_VERIFY_WITH_TIMEOUT(groups->rowCount() >= 2 && !text(groups, 1, 1).isEmpty(), 15000);
    const QStringList states = {"Stable", "Empty", "CompletingRebalance"};
    for (int row = 0; row < groups->rowCount(); ++row) {
      const QString name = text(groups, row, 0);
      QVERIFY2(states.contains(text(groups, row, 1)), qPrintable(name + " state: " + text(groups, row, 1)));
      bool number = false;
      text(groups, row, 2).toInt(&number);
      QVERIFY2(number, qPrintable(name + " members: " + text(groups, row, 2)));
    }
    // The first group is selected; its partitions are listed and every column is in view.
    QTRY_VERIFY_WITH_TIMEOUT(detail->rowCount() > 0, 10000);
    const int last = detail->columnCount() - 1;
    QVERIFY2(detail->columnViewportPosition(last) + detail->columnWidth(last) <= detail->viewport()->width(),
             qPrintable(QString("columns end at %1, the table shows %2 px")
                            .arg(detail->columnViewportPosition(last) + detail->columnWidth(last))
                            .arg(detail->viewport()->width())));
    const int topics = static_cast<const QAbstractItemView*>(detail)->sizeHintForColumn(0);
    QVERIFY2(detail->columnWidth(0) >= topics,
             qPrintable(QString("topic column %1 px, names need %2").arg(detail->columnWidth(0)).arg(topics)));
  }

  void theLogsPanelReceivesTheServicesLines() {
    LogsPanel panel(app_->context());
    QTRY_VERIFY_WITH_TIMEOUT(panel.model()->rowCount() > 0, 10000);
    QVERIFY(!panel.model()->services().isEmpty());
  }

 private:
  std::unique_ptr<App> app_;
};

}  // namespace sandbank::gui

QTEST_MAIN(sandbank::gui::LiveServicesFaultsTest)
#include "live_services_faults_test.moc"
