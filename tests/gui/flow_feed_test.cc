// FlowFeed: events reach the UI thread in batches, at most one per frame, in order, and
// none is lost or repeated, whichever thread injected them.
#include <QSignalSpy>
#include <QTest>

#include <thread>

#include "flow_feed.h"

namespace sandbank::gui {

class FlowFeedTest : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void eventsFromManyThreadsArriveInFewBatchesWithNoneLost() {
    FlowFeed feed;
    feed.start();
    std::vector<uint64_t> seen;
    int batches = 0;
    connect(&feed, &FlowFeed::batch, this, [&](FlowBatch b) {
      ++batches;
      for (const auto& e : *b) seen.push_back(e.id);
    });
    constexpr int kThreads = 4, kPerThread = 5000;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&feed, t] {
        for (int i = 0; i < kPerThread; ++i) {
          flow::FlowEvent e;
          e.id = static_cast<uint64_t>(t) * kPerThread + i + 1;
          feed.inject({e});
        }
      });
    }
    for (auto& th : threads) th.join();
    QTRY_COMPARE_WITH_TIMEOUT(seen.size(), size_t(kThreads * kPerThread), 5000);
    std::sort(seen.begin(), seen.end());
    for (size_t i = 0; i < seen.size(); ++i) QCOMPARE(seen[i], i + 1);
    // 20 000 single-event injections were coalesced: far fewer batches than events.
    QVERIFY2(batches < kThreads * kPerThread / 10, qPrintable(QString("%1 batches").arg(batches)));
    QCOMPARE(feed.received(), uint64_t(kThreads * kPerThread));
  }

  void aRecordingThatDoesNotExistIsReportedNotSilentlyEmpty() {
    FlowFeed feed(std::string("/nonexistent/run.db"));
    QSignalSpy errors(&feed, &FlowFeed::error);
    feed.start();
    QTRY_COMPARE_WITH_TIMEOUT(errors.count(), 1, 5000);
    QVERIFY(errors.at(0).at(0).toString().contains("/nonexistent/run.db"));
  }
};

}  // namespace sandbank::gui

QTEST_MAIN(sandbank::gui::FlowFeedTest)
#include "flow_feed_test.moc"
