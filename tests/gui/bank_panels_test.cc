// The store and scenarios panels against the real bank in this process: taking a store
// node down through the store panel shows it down in GetNodeStats, and a short scenario
// run through the scenarios panel's runner turns every step green while the GUI's own
// flow subscription keeps delivering, and lands in the run's recording; Stop interrupts a
// scenario mid-way.
#include <QDir>
#include <QSignalSpy>
#include <QTabWidget>
#include <QTest>

#include <algorithm>

#include "app.h"
#include "control_client.h"
#include "control_stubs.h"
#include "flow_feed.h"
#include "panels/scenarios_panel.h"
#include "panels/store_panel.h"
#include "sandbank/control/simulator.h"
#include "sandbank/flow/flow_query.h"

namespace sandbank::gui {
namespace {

// The store's own answer, asked directly (not through the panel).
std::optional<bool> nodeUp(ControlClient& client, int node) {
  auto r = unary(client.stubs().store, &sandbank::store::Store::Stub::GetNodeStats, client.stubs(), sandbank::store::Empty{});
  if (!r.ok()) return std::nullopt;
  for (const auto& n : r.value.nodes())
    if (n.node() == node) return n.up();
  return std::nullopt;
}

const StoreNode* findNode(const StorePanel& p, int id) {
  for (const auto& n : p.nodes())
    if (n.id == id) return &n;
  return nullptr;
}

}  // namespace

class BankPanelsTest : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() {
    AppOptions o;
    o.manifest = SANDBANK_SOURCE_DIR "/bank.yaml";
    o.bin_dir = SANDBANK_BIN_DIR;
    o.scenarios_dir = SANDBANK_SOURCE_DIR "/scenarios";
    app_ = std::make_unique<App>(o);
    Status s = app_->start();
    QVERIFY2(s.ok(), s.message().c_str());
  }

  void cleanupTestCase() { app_.reset(); }

  void takingANodeDownInTheStorePanelShowsItDownInGetNodeStats() {
    StorePanel panel(app_->context());
    QTRY_VERIFY_WITH_TIMEOUT(!panel.nodes().empty(), 10000);
    const int node = panel.nodes().back().id;
    QCOMPARE(nodeUp(*app_->context().client, node), std::optional<bool>(true));

    QSignalSpy done(&panel, &StorePanel::nodeActionDone);
    panel.setNodeDown(node, true);
    QTRY_COMPARE_WITH_TIMEOUT(done.count(), 1, 10000);
    QVERIFY2(panel.lastError().isEmpty(), qPrintable(panel.lastError()));
    QCOMPARE(nodeUp(*app_->context().client, node), std::optional<bool>(false));
    QTRY_VERIFY_WITH_TIMEOUT(findNode(panel, node) && !findNode(panel, node)->up, 10000);  // the ring shows it

    panel.setNodeDown(node, false);
    QTRY_COMPARE_WITH_TIMEOUT(done.count(), 2, 10000);
    QCOMPARE(nodeUp(*app_->context().client, node), std::optional<bool>(true));
    QTRY_VERIFY_WITH_TIMEOUT(findNode(panel, node) && findNode(panel, node)->up, 10000);
  }

  void theSchemaComesFromSystemSchemaAndTypesThePartitionKey() {
    StorePanel panel(app_->context());
    QSignalSpy read(&panel, &StorePanel::schemaRead);
    QTRY_VERIFY_WITH_TIMEOUT(read.count() >= 1, 10000);
    QVERIFY(panel.hasSystemSchema());
    // Every service created its tables at start-up: the catalogue lists them with no traffic.
    QCOMPARE(panel.partitionKeyOf("ledger", "balances"), QStringList{"address text"});
    QCOMPARE(panel.partitionKeyOf("card_processor", "hold_expiry"), QStringList{"bucket int"});
    QVERIFY(panel.partitionKeyOf("ledger", "no_such_table").isEmpty());
    // The Schema tab as a person sees it, kept with the other screenshots.
    auto* tabs = panel.findChild<QTabWidget*>();
    QVERIFY(tabs != nullptr);
    for (int i = 0; i < tabs->count(); ++i)
      if (tabs->tabText(i) == "Schema") tabs->setCurrentIndex(i);
    QCOMPARE(tabs->tabText(tabs->currentIndex()), QString("Schema"));
    panel.resize(900, 700);
    QDir().mkpath(SANDBANK_ARTIFACTS_DIR);
    QVERIFY(panel.grab().save(QDir(SANDBANK_ARTIFACTS_DIR).filePath("store-schema.png")));
    // A text key that looks like a number is sent as text, because the schema says so
    // (typed by its look, "12345" would go as an int and the store would refuse it).
    QSignalSpy shown(&panel, &StorePanel::partitionShown);
    panel.showPartitionOf("ledger", "balances", "12345");
    QTRY_COMPARE_WITH_TIMEOUT(shown.count(), 1, 10000);
    QVERIFY2(panel.replicaDiff().replicas.size() >= 1, "every replica answers for an absent partition too");
  }

  void aScenarioRunFromThePanelTurnsEveryStepGreen() {
    ScenariosPanel panel(app_->context());
    QSignalSpy listed(&panel, &ScenariosPanel::listed);
    QTRY_COMPARE_WITH_TIMEOUT(listed.count(), 1, 30000);
    QVERIFY(panel.check("onboarding", "onboarding: follow one card payment through the bank"));
    QVERIFY(panel.runner() != nullptr);

    // Every step is reported by its own signal, all of them before the scenario's end.
    int steps_before_end = -1;
    QSignalSpy steps(panel.runner(), &ScenarioRunner::stepFinished);
    connect(panel.runner(), &ScenarioRunner::scenarioFinished, this, [&] { steps_before_end = static_cast<int>(steps.count()); });
    // The first step comes after the bank was reset (services restarted, topics recreated).
    FlowFeed& feed = *app_->context().feed;
    uint64_t received_at_first_step = 0;
    connect(panel.runner(), &ScenarioRunner::stepFinished, this, [&] {
      if (received_at_first_step == 0) received_at_first_step = feed.received();
    });
    QSignalSpy done(&panel, &ScenariosPanel::runDone);

    Status started = panel.runChecked();
    QVERIFY2(started.ok(), started.message().c_str());
    QVERIFY(panel.runner()->running());
    QTRY_COMPARE_WITH_TIMEOUT(done.count(), 1, 150000);

    QCOMPARE(panel.runRows().size(), size_t(1));
    const auto& row = panel.runRows().front();
    QVERIFY2(row.state == ScenariosPanel::State::kPassed, qPrintable(row.message));
    QVERIFY(!row.steps.empty());
    for (const auto& s : row.steps) QVERIFY2(s.ok, qPrintable(s.name));
    QCOMPARE(steps_before_end, static_cast<int>(row.steps.size()));
    QVERIFY(!panel.runner()->running());

    // The result is in the run's recording, as `sandbank run` writes it.
    flow::Recorder* rec = app_->context().simulator->recorder();
    QVERIFY(rec != nullptr);
    QVERIFY(rec->flush().ok());
    auto q = flow::RecordingFlowQuery::open(app_->context().recording);
    QVERIFY2(q.ok(), q.status().message().c_str());
    auto recorded = (*q)->scenarios();
    QVERIFY2(recorded.ok(), recorded.status().message().c_str());
    QVERIFY(std::any_of(recorded->begin(), recorded->end(), [](const flow::ScenarioResult& r) {
      return r.name == "onboarding/onboarding: follow one card payment through the bank" && r.status == "passed";
    }));

    // The reset restarts services and recreates topics; the GUI's own flow subscription
    // lives on the control port and keeps delivering the scenario's later events.
    QVERIFY(received_at_first_step > 0);
    QTRY_VERIFY_WITH_TIMEOUT(feed.received() > received_at_first_step, 10000);
    QVERIFY(feed.connected());
  }

  // Stop interrupts the scenario in progress at its next wait, not after it; the next
  // run resets the bank although "reset first" is off, and passes.
  void stopInterruptsTheRunningScenarioAndTheNextRunStartsFromAResetBank() {
    ScenariosPanel panel(app_->context());
    QSignalSpy listed(&panel, &ScenariosPanel::listed);
    QTRY_COMPARE_WITH_TIMEOUT(listed.count(), 1, 30000);
    QVERIFY(panel.check("onboarding", "onboarding: follow one card payment through the bank"));
    QSignalSpy done(&panel, &ScenariosPanel::runDone);
    bool stop_sent = false;
    connect(panel.runner(), &ScenarioRunner::stepFinished, this, [&] {
      if (!stop_sent) panel.runner()->stop();  // the runner's own thread: stop after the first step
      stop_sent = true;
    }, Qt::DirectConnection);
    QVERIFY(panel.runChecked().ok());
    QTRY_COMPARE_WITH_TIMEOUT(done.count(), 1, 150000);
    QCOMPARE(panel.runRows().size(), size_t(1));
    const auto stopped = panel.runRows().front();
    QVERIFY2(stopped.state == ScenariosPanel::State::kFailed, qPrintable(stopped.message));
    QVERIFY2(stopped.message.startsWith("stopped by the user"), qPrintable(stopped.message));
    QVERIFY(stopped.steps.size() >= 1);

    panel.setResetFirst(false);
    QSignalSpy started(panel.runner(), &ScenarioRunner::scenarioStarted);
    QVERIFY(panel.runChecked().ok());
    QTRY_COMPARE_WITH_TIMEOUT(done.count(), 2, 150000);
    const auto again = panel.runRows().front();
    QVERIFY2(again.state == ScenariosPanel::State::kPassed, qPrintable(again.message));
    QVERIFY(again.steps.size() > stopped.steps.size());
  }

 private:
  std::unique_ptr<App> app_;
};

}  // namespace sandbank::gui

QTEST_MAIN(sandbank::gui::BankPanelsTest)
#include "bank_panels_test.moc"
