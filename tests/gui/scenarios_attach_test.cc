// The scenarios panel attached to a bank it does not own (as `sandbank-gui --attach`): the
// runner goes over the control port (scenario::makeRemoteLink) and a library scenario
// runs with every step green, the bank reset first; the bank is still up afterwards.
// The "bank" is an in-process App here only so the test can start and stop it; the
// attached App sees nothing of it but its run-state file.
#include <QSignalSpy>
#include <QTest>

#include "app.h"
#include "gui_context.h"
#include "panels/scenarios_panel.h"
#include "panels/scenarios_runner.h"
#include "sandbank/control/simulator.h"

namespace sandbank::gui {

class ScenariosAttachTest : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() {
    AppOptions b;
    b.manifest = SANDBANK_SOURCE_DIR "/bank.yaml";
    b.bin_dir = SANDBANK_BIN_DIR;
    bank_ = std::make_unique<App>(b);
    Status s = bank_->start();
    QVERIFY2(s.ok(), s.message().c_str());
    QVERIFY(!bank_->context().run_state.empty());

    AppOptions a;
    a.attach = bank_->context().run_state;
    a.bin_dir = SANDBANK_BIN_DIR;
    a.scenarios_dir = SANDBANK_SOURCE_DIR "/scenarios";
    attached_ = std::make_unique<App>(a);
    s = attached_->start();
    QVERIFY2(s.ok(), s.message().c_str());
    QVERIFY(attached_->context().simulator == nullptr);
  }

  void cleanupTestCase() {
    attached_.reset();
    bank_.reset();
  }

  void anAttachedPanelRunsAScenarioOverTheControlPort() {
    ScenariosPanel panel(attached_->context());
    QSignalSpy listed(&panel, &ScenariosPanel::listed);
    QTRY_COMPARE_WITH_TIMEOUT(listed.count(), 1, 30000);
    QVERIFY2(panel.runner() != nullptr, "attached, the panel has a runner");
    QVERIFY(panel.check("onboarding", "onboarding: follow one card payment through the bank"));
    QSignalSpy done(&panel, &ScenariosPanel::runDone);
    Status started = panel.runChecked();
    QVERIFY2(started.ok(), started.message().c_str());
    QTRY_COMPARE_WITH_TIMEOUT(done.count(), 1, 150000);

    QCOMPARE(panel.runRows().size(), size_t(1));
    const auto& row = panel.runRows().front();
    QVERIFY2(row.state == ScenariosPanel::State::kPassed, qPrintable(row.message));
    QVERIFY(!row.steps.empty());
    for (const auto& st : row.steps) QVERIFY2(st.ok, qPrintable(st.name));
    // The bank the panel attached to came back from its reset and still serves.
    Status ready = bank_->context().simulator->supervisor().waitUntilReady(std::chrono::seconds(30));
    QVERIFY2(ready.ok(), ready.message().c_str());
  }

 private:
  std::unique_ptr<App> bank_;
  std::unique_ptr<App> attached_;
};

}  // namespace sandbank::gui

QTEST_MAIN(sandbank::gui::ScenariosAttachTest)
#include "scenarios_attach_test.moc"
