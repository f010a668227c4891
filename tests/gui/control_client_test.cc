// ControlClient against a real in-process simulator (the skeleton bank of echo services):
// replies come back on the UI thread, a reply for a destroyed receiver is dropped, and a
// client with the wrong token is refused with a reason, not hung or crashed.
#include <QSignalSpy>
#include <QTest>
#include <QThread>

#include <future>

#include "app.h"
#include "control_client.h"
#include "control_stubs.h"
#include "flow_feed.h"

namespace sandbank::gui {

class ControlClientTest : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() {
    AppOptions o;
    o.manifest = SANDBANK_SOURCE_DIR "/manifests/skeleton-bank.yaml";
    o.bin_dir = SANDBANK_BIN_DIR;
    o.record = QDir::temp().filePath(QString("control-client-test-%1.db").arg(QCoreApplication::applicationPid())).toStdString();
    app_ = std::make_unique<App>(o);
    Status s = app_->start();
    QVERIFY2(s.ok(), s.message().c_str());
    QVERIFY(app_->context().live());
  }
  void cleanupTestCase() { app_.reset(); }

  void repliesArriveOnTheUiThread() {
    ControlClient& client = *app_->context().client;
    QObject receiver;
    bool done = false;
    int instances = 0;
    QThread* ui = QThread::currentThread();
    QThread* worker = nullptr;
    client.call(
        &receiver,
        [&worker](Stubs& s) {
          worker = QThread::currentThread();
          return unary(s.control, &sandbank::control::Control::Stub::ListServices, s,
                       sandbank::control::ListServicesRequest{});
        },
        [&](Reply<sandbank::control::ListServicesResponse> r) {
          QVERIFY2(r.ok(), qPrintable(describe(r.status)));
          QCOMPARE(QThread::currentThread(), ui);
          instances = r.value.instances_size();
          done = true;
        });
    QTRY_VERIFY_WITH_TIMEOUT(done, 10000);
    QVERIFY(worker != nullptr && worker != ui);
    QCOMPARE(instances, 12);  // the skeleton bank's twelve services
  }

  void aReplyForADestroyedReceiverIsDropped() {
    ControlClient& client = *app_->context().client;
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    auto* doomed = new QObject;
    bool doomed_called = false;
    client.call(
        doomed, [released](Stubs&) { released.wait(); return 1; }, [&](int) { doomed_called = true; });
    delete doomed;
    release.set_value();
    QObject alive;
    bool alive_called = false;
    client.call(&alive, [](Stubs&) { return 2; }, [&](int v) { alive_called = v == 2; });
    QTRY_VERIFY_WITH_TIMEOUT(alive_called && client.inFlight() == 0, 10000);
    QVERIFY(!doomed_called);
  }

  void aWrongTokenIsRefusedWithAReason() {
    ControlClient wrong(app_->context().client->address(), "not-the-token");
    QObject receiver;
    bool done = false;
    grpc::Status status;
    wrong.call(
        &receiver,
        [](Stubs& s) {
          return unary(s.control, &sandbank::control::Control::Stub::ListServices, s,
                       sandbank::control::ListServicesRequest{});
        },
        [&](Reply<sandbank::control::ListServicesResponse> r) {
          status = r.status;
          done = true;
        });
    QTRY_VERIFY_WITH_TIMEOUT(done, 10000);
    QCOMPARE(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
    QVERIFY(!status.error_message().empty());
    QVERIFY(describe(status).startsWith("UNAUTHENTICATED: "));
  }

  void theLiveFeedDeliversTheSimulatorsEvents() {
    // Restarting a service emits process events into the flow; the feed must bring them.
    FlowFeed& feed = *app_->context().feed;
    const uint64_t before = feed.received();
    QObject receiver;
    bool restarted = false;
    app_->context().client->call(
        &receiver,
        [](Stubs& s) {
          sandbank::control::ServiceRequest req;
          req.set_service("feed");
          return unary(s.control, &sandbank::control::Control::Stub::RestartService, s, req);
        },
        [&](Reply<sandbank::control::ServiceActionResponse> r) { restarted = r.ok(); });
    QTRY_VERIFY_WITH_TIMEOUT(restarted, 10000);
    QTRY_VERIFY_WITH_TIMEOUT(feed.received() > before, 10000);
    QVERIFY(feed.connected());
  }

 private:
  std::unique_ptr<App> app_;
};

}  // namespace sandbank::gui

QTEST_MAIN(sandbank::gui::ControlClientTest)
#include "control_client_test.moc"
