// The Messages panel's model and proxy: a batch is one insertion, the list stays bounded by
// evicting the oldest in chunks, each filter keeps exactly the matching events, a batch is
// judged on its own rows only (no rescan of the list), and a recording opened through a
// FlowFeed shows its events in the panel.
#include <QPlainTextEdit>
#include <QSignalSpy>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>

#include "flow_feed.h"
#include "gui_context.h"
#include "panels/messages_model.h"
#include "panels/messages_panel.h"
#include "sandbank/flow/recorder.h"

namespace sandbank::gui {
namespace {

flow::FlowEvent ev(uint64_t id, flow::FlowKind kind, std::string src, std::string dst, std::string status = "OK") {
  flow::FlowEvent e;
  e.id = id;
  e.kind = kind;
  e.source = std::move(src);
  e.destination = std::move(dst);
  e.status = std::move(status);
  e.start_sim_us = e.end_sim_us = 1'700'000'000'000'000 + static_cast<int64_t>(id) * 1000;
  e.trace_id = "t" + std::to_string(id % 7);
  return e;
}

FlowBatch batchOf(uint64_t first, size_t n) {
  auto v = std::make_shared<std::vector<flow::FlowEvent>>();
  for (size_t i = 0; i < n; ++i) v->push_back(ev(first + i, flow::FlowKind::kRpc, "card", "ledger"));
  return v;
}

// A small mixed set: every filter has something to keep and something to drop.
FlowBatch mixed() {
  auto v = std::make_shared<std::vector<flow::FlowEvent>>();
  auto a = ev(1, flow::FlowKind::kRpc, "card-processor", "ledger");
  a.method = "sandbank.ledger.Ledger/PostEntrySet";
  a.detail = "posted 2 entries";
  v->push_back(a);
  auto b = ev(2, flow::FlowKind::kRpc, "card-processor", "fraud", "DEADLINE_EXCEEDED");
  b.method = "sandbank.fraud.Fraud/Score";
  v->push_back(b);
  auto c = ev(3, flow::FlowKind::kPublish, "ledger", "bus");
  c.topic = "ledger.entries";
  v->push_back(c);
  auto d = ev(4, flow::FlowKind::kDeliver, "bus", "notification");
  d.topic = "ledger.entries";
  d.partition_key = "acct-42";
  v->push_back(d);
  auto f = ev(5, flow::FlowKind::kFault, "card-processor", "fraud", "DEADLINE_EXCEEDED");
  f.method = "sandbank.fraud.Fraud/Score";
  f.detail = "rule slow-fraud: delay 3s";
  v->push_back(f);
  auto s = ev(6, flow::FlowKind::kStoreRequest, "ledger", "node-1", "WriteTimeout");
  s.method = "WRITE";
  s.keyspace = "bank";
  s.table = "balances";
  v->push_back(s);
  return v;
}

std::vector<uint64_t> shownIds(const MessagesProxy& proxy) {
  std::vector<uint64_t> ids;
  for (int r = 0; r < proxy.rowCount(); ++r) ids.push_back(proxy.index(r, 0).data(Qt::UserRole).toULongLong());
  return ids;
}

}  // namespace

class MessagesModelTest : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void aBatchIsOneInsertionOfAllItsRows() {
    MessagesModel model(1000);
    QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
    model.append(batchOf(1, 300));
    model.append(batchOf(301, 200));
    QCOMPARE(inserted.count(), 2);
    QCOMPARE(inserted.at(0).at(1).toInt(), 0);
    QCOMPARE(inserted.at(0).at(2).toInt(), 299);
    QCOMPARE(inserted.at(1).at(1).toInt(), 300);
    QCOMPARE(inserted.at(1).at(2).toInt(), 499);
    QCOMPARE(model.rowCount(), 500);
    QCOMPARE(model.event(499).id, uint64_t(500));
  }

  void theOldestAreEvictedInChunksAndTheNewestStay() {
    MessagesModel model(160);  // chunk = 10
    QCOMPARE(model.evictionChunk(), size_t(10));
    QSignalSpy removed(&model, &QAbstractItemModel::rowsRemoved);
    model.append(batchOf(1, 150));
    QCOMPARE(removed.count(), 0);
    model.append(batchOf(151, 15));  // 5 too many: a whole chunk of 10 goes, in one removal
    QCOMPARE(removed.count(), 1);
    QCOMPARE(model.rowCount(), 155);
    QCOMPARE(model.event(0).id, uint64_t(11));
    QCOMPARE(model.event(154).id, uint64_t(165));
    // Many single events: removals happen once per chunk, not once per event.
    for (uint64_t id = 166; id < 166 + 100; ++id) model.append(batchOf(id, 1));
    QVERIFY(model.rowCount() <= 160);
    QVERIFY2(removed.count() <= 1 + 100 / 10 + 1, qPrintable(QString::number(removed.count())));
    QCOMPARE(model.event(model.rowCount() - 1).id, uint64_t(265));
    // A batch bigger than the whole bound keeps only its newest rows.
    model.append(batchOf(1000, 500));
    QCOMPARE(model.rowCount(), 160);
    QCOMPARE(model.event(0).id, uint64_t(1340));
    QCOMPARE(model.event(159).id, uint64_t(1499));
    QCOMPARE(*model.rowOfId(1400), 60);
    QVERIFY(!model.rowOfId(5).has_value());
  }

  void eachFilterKeepsOnlyItsMatches() {
    MessagesModel model;
    MessagesProxy proxy;
    proxy.setSourceModel(&model);
    model.append(mixed());
    QCOMPARE(proxy.rowCount(), 6);
    auto only = [&](auto set) {
      MessagesFilter f;
      set(f);
      proxy.setFilter(f);
      return shownIds(proxy);
    };
    using V = std::vector<uint64_t>;
    QCOMPARE(only([](MessagesFilter& f) { f.service = "fraud"; }), (V{2, 5}));
    QCOMPARE(only([](MessagesFilter& f) { f.service = "ledger"; }), (V{1, 3, 6}));
    QCOMPARE(only([](MessagesFilter& f) { f.kind = "deliver"; }), (V{4}));
    QCOMPARE(only([](MessagesFilter& f) { f.kind = "fault"; }), (V{5}));
    QCOMPARE(only([](MessagesFilter& f) { f.method = "*Fraud/Sc*"; }), (V{2, 5}));
    QCOMPARE(only([](MessagesFilter& f) { f.method = "postentry"; }), (V{1}));  // no wildcard: contains
    QCOMPARE(only([](MessagesFilter& f) { f.method = "balances"; }), (V{6}));   // tables too
    QCOMPARE(only([](MessagesFilter& f) { f.topic = "ledger.*"; }), (V{3, 4}));
    QCOMPARE(only([](MessagesFilter& f) { f.status_mode = MessagesFilter::StatusMode::kOk; }), (V{1, 3, 4}));
    QCOMPARE(only([](MessagesFilter& f) { f.status_mode = MessagesFilter::StatusMode::kErrors; }), (V{2, 5, 6}));
    QCOMPARE(only([](MessagesFilter& f) {
               f.status_mode = MessagesFilter::StatusMode::kCode;
               f.status_code = "WriteTimeout";
             }),
             (V{6}));
    QCOMPARE(only([](MessagesFilter& f) { f.text = "ACCT-42"; }), (V{4}));
    QCOMPARE(only([](MessagesFilter& f) { f.text = "slow-fraud"; }), (V{5}));
    QCOMPARE(only([](MessagesFilter& f) {
               f.service = "card-processor";
               f.status_mode = MessagesFilter::StatusMode::kErrors;
               f.kind = "rpc";
             }),
             (V{2}));
    QCOMPARE(only([](MessagesFilter&) {}), (V{1, 2, 3, 4, 5, 6}));
  }

  void errorsAreRedAndFaultsMarked() {
    MessagesModel model;
    model.append(mixed());
    QVERIFY(!model.index(0, MessagesModel::kStatus).data(Qt::ForegroundRole).isValid());
    QCOMPARE(model.index(1, MessagesModel::kStatus).data(Qt::ForegroundRole).value<QColor>().red(), 0xe0);
    QVERIFY(model.index(4, MessagesModel::kKind).data().toString().contains("fault"));
    QVERIFY(model.index(4, 0).data(Qt::BackgroundRole).isValid());
    QCOMPARE(model.index(5, MessagesModel::kWhat).data().toString(), QString("WRITE bank.balances"));
    QCOMPARE(model.index(2, MessagesModel::kRoute).data().toString(), QString("ledger → bus"));
  }

  void aBatchIsJudgedOnItsOwnRowsNotTheWholeList() {
    MessagesModel model(20000);  // chunk 1250
    MessagesProxy proxy;
    proxy.setSourceModel(&model);
    MessagesFilter f;
    f.text = "ledger";
    proxy.setFilter(f);
    model.append(batchOf(1, 19000));
    QCOMPARE(proxy.acceptCalls(), uint64_t(19000));
    model.append(batchOf(19001, 50));
    QCOMPARE(proxy.acceptCalls(), uint64_t(19050));
    // Past the bound: the eviction removes rows without judging anything again.
    model.append(batchOf(19051, 2000));
    QCOMPARE(proxy.acceptCalls(), uint64_t(21050));
    QCOMPARE(proxy.rowCount(), model.rowCount());
    // Changing the filter is the one time every row is judged again.
    const uint64_t before = proxy.acceptCalls();
    f.text = "nothing-like-this";
    proxy.setFilter(f);
    QCOMPARE(proxy.acceptCalls() - before, uint64_t(model.rowCount()));
    QCOMPARE(proxy.rowCount(), 0);
    // Setting the same filter again does not rescan.
    proxy.setFilter(f);
    QCOMPARE(proxy.acceptCalls() - before, uint64_t(model.rowCount()));
  }

  void aRecordingOpenedThroughTheFeedFillsThePanel() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const std::string path = dir.filePath("run.db").toStdString();
    {
      auto rec = flow::Recorder::create(path, flow::RunInfo{});
      QVERIFY2(rec.ok(), rec.status().message().c_str());
      const FlowBatch source = mixed();  // named: a temporary would die before the loop
      for (auto e : *source) {
        e.id = 0;  // the recorder numbers them
        if (e.kind == flow::FlowKind::kRpc) {
          e.payload = std::string("\x0a\x03" "abc", 5);
          e.size = 5;
          e.payload_type = "sandbank.ledger.PostEntrySetRequest";
        }
        (*rec)->emit(e);
      }
      QVERIFY((*rec)->close().ok());
    }
    FlowFeed feed(path);
    Selection selection;
    GuiContext context;
    context.feed = &feed;
    context.selection = &selection;
    MessagesPanel panel(context);
    feed.start();
    QTRY_COMPARE_WITH_TIMEOUT(panel.model()->rowCount(), 6, 5000);
    QCOMPARE(panel.model()->event(2).topic, std::string("ledger.entries"));
    QCOMPARE(panel.model()->event(5).table, std::string("balances"));

    // Selecting a row tells the other panels and shows the payload as type + hex.
    QSignalSpy chosen(&selection, &Selection::eventSelected);
    panel.view()->setCurrentIndex(panel.proxy()->index(0, 0));
    QCOMPARE(chosen.count(), 1);
    QCOMPARE(chosen.at(0).at(0).toULongLong(), panel.model()->event(0).id);
    const QString detail = panel.detailPane()->toPlainText();
    QVERIFY2(detail.contains("sandbank.ledger.PostEntrySetRequest, 5 bytes"), qPrintable(detail));
    QVERIFY2(detail.contains("0a 03 61 62 63"), qPrintable(detail));

    // The focused service filters the list; the fault shows on the call it delayed.
    selection.focusService("fraud");
    QTRY_COMPARE(panel.proxy()->rowCount(), 2);
    QCOMPARE(chosen.count(), 1);  // filtering moved no selection to the other panels
    panel.view()->setCurrentIndex(panel.proxy()->index(0, 0));
    QVERIFY2(panel.detailPane()->toPlainText().contains("DEADLINE_EXCEEDED"), qPrintable(panel.detailPane()->toPlainText()));
    panel.view()->setCurrentIndex(panel.proxy()->index(1, 0));
    QVERIFY2(panel.detailPane()->toPlainText().contains("rule slow-fraud"), qPrintable(panel.detailPane()->toPlainText()));
  }
};

}  // namespace sandbank::gui

QTEST_MAIN(sandbank::gui::MessagesModelTest)
#include "messages_model_test.moc"
