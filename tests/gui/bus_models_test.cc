// The bus panel's models: record bytes as text/JSON/hex, the browse search over keys and
// values, the lag history that never grows past its bound, and the chart's one line per
// consumer group.
#include <QTest>

#include "panels/bus_models.h"

namespace sandbank::gui {
namespace {

BusRecord record(int64_t offset, std::optional<std::string> key, std::string value) {
  BusRecord r;
  r.topic = "payments";
  r.offset = offset;
  r.key = std::move(key);
  r.value = std::move(value);
  return r;
}

}  // namespace

class BusModelsTest : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void jsonValuesReadAsCompactJsonTextAsTextAndBinaryAsHex() {
    QCOMPARE(displayBytes("{ \"amount\" : 5,\n \"ccy\": \"GBP\" }"), QString(R"({"amount":5,"ccy":"GBP"})"));
    QCOMPARE(displayBytes("plain text"), QString("plain text"));
    QCOMPARE(displayBytes(std::string("\x00\x01\xff", 3)), QString("0x0001ff"));
    QVERIFY(displayBytes(std::string(100, '\x02'), 4).startsWith("0x02020202…"));
    QCOMPARE(displayBytes("{not json"), QString("{not json"));
    QVERIFY(displayBytesPretty("{\"a\":1}").contains("\n"));
  }

  void searchMatchesAKeyOrValueSubstringIgnoringCase() {
    BrowseModel m;
    m.setRecords({record(0, "acct-1", R"({"event":"Debited","amount":5})"), record(1, "acct-2", "hello"),
                  record(2, std::nullopt, R"({"event":"Credited"})")});
    QCOMPARE(m.rowCount(), 3);
    m.setSearch("ACCT-2");
    QCOMPARE(m.rowCount(), 1);
    QCOMPARE(m.recordAt(0)->offset, int64_t(1));
    m.setSearch("credited");
    QCOMPARE(m.rowCount(), 1);
    QCOMPARE(m.recordAt(0)->offset, int64_t(2));
    QVERIFY(m.recordAt(1) == nullptr);
    m.setSearch("ed\"");  // Debited" and Credited" in the displayed JSON
    QCOMPARE(m.rowCount(), 2);
    m.setSearch("nowhere");
    QCOMPARE(m.rowCount(), 0);
    QCOMPARE(m.totalRecords(), 3);
    m.setSearch("");
    QCOMPARE(m.rowCount(), 3);
    QCOMPARE(m.data(m.index(2, BrowseModel::kKey)).toString(), QString("(no key)"));
    // JSON is shown compact, with its keys in order.
    QCOMPARE(m.data(m.index(0, BrowseModel::kValue)).toString(), QString(R"({"amount":5,"event":"Debited"})"));
  }

  void newRecordsKeepTheSearch() {
    BrowseModel m;
    m.setSearch("x");
    m.setRecords({record(0, "x1", "a"), record(1, "y", "b")});
    QCOMPARE(m.rowCount(), 1);
    QVERIFY(BrowseModel::matches(record(9, std::nullopt, "XYZ"), "x"));
    QVERIFY(!BrowseModel::matches(record(9, "k", "abc"), "x"));
  }

  void aBrowsePageKeepsOnlyTheNewestRecordsPastItsBound() {
    BrowseModel m;
    std::vector<BusRecord> many;
    for (size_t i = 0; i < BrowseModel::kMaxRecords + 10; ++i) many.push_back(record(static_cast<int64_t>(i), "k", "v"));
    m.setRecords(std::move(many));
    QCOMPARE(m.rowCount(), static_cast<int>(BrowseModel::kMaxRecords));
    QCOMPARE(m.recordAt(0)->offset, int64_t(10));
  }

  void lagHistoryKeepsOnlyTheNewestSamplesOfEachGroup() {
    LagHistory h(5, 3);
    for (int i = 0; i < 12; ++i) h.add("fraud", i, 100 + i);
    const auto& s = h.samples("fraud");
    QCOMPARE(s.size(), size_t(5));
    QCOMPARE(s.front().seconds, 7.0);
    QCOMPARE(s.back().lag, int64_t(111));
    QCOMPARE(h.maxLag("fraud"), int64_t(111));
    QVERIFY(h.samples("unknown").empty());
  }

  void lagHistoryDropsTheGroupSampledLongestAgoPastItsGroupBound() {
    LagHistory h(5, 3);
    h.add("a", 1, 1);
    h.add("b", 2, 1);
    h.add("c", 3, 1);
    h.add("a", 4, 1);  // a is fresh again; b is now the stalest
    h.add("d", 5, 1);
    QCOMPARE(h.groups(), (std::vector<std::string>{"a", "c", "d"}));
  }

  void lagSamplesOfSeveralGroupsAreKeptPerGroupEachWithinTheBound() {
    LagHistory h(4, 8);
    for (int i = 0; i < 10; ++i) {
      h.add("feed", i, i);
      h.add("notification", i, 100 + i);
      if (i >= 7) h.add("fraud.fraud-1", i, 1000 + i);  // a group that appears later
    }
    QCOMPARE(h.groups(), (std::vector<std::string>{"feed", "fraud.fraud-1", "notification"}));
    QCOMPARE(h.samples("feed").size(), size_t(4));
    QCOMPARE(h.samples("notification").size(), size_t(4));
    QCOMPARE(h.samples("fraud.fraud-1").size(), size_t(3));
    QCOMPARE(h.samples("feed").front().lag, int64_t(6));
    QCOMPARE(h.samples("notification").front().lag, int64_t(106));
    QCOMPARE(h.maxLag("feed"), int64_t(9));
    QCOMPARE(h.maxLag(), int64_t(1009));
    QCOMPARE(h.oldestSeconds(), std::optional<double>(6.0));
    QVERIFY(!LagHistory().oldestSeconds());
  }

  void chartPointsAreEachGroupsSamplesInSecondsBeforeNow() {
    LagHistory h(3, 4);
    h.add("feed", 10, 5);
    h.add("feed", 11, 7);
    h.add("notification", 11, 2);
    QCOMPARE(h.points("feed", 12.5), (QList<QPointF>{QPointF(-2.5, 5), QPointF(-1.5, 7)}));
    QCOMPARE(h.points("notification", 12.5), (QList<QPointF>{QPointF(-1.5, 2)}));
    QVERIFY(h.points("unknown", 12.5).isEmpty());
    for (int i = 12; i < 20; ++i) h.add("feed", i, i);
    QCOMPARE(h.points("feed", 20).size(), 3);  // bounded like the samples
    QCOMPARE(h.points("feed", 20).front(), QPointF(-3, 17));
  }

  void aGroupThatAppearsLaterGetsItsOwnLineAndKeepsItsColour() {
    LagHistory h(5, 3);
    LagSeriesSet lines;
    h.add("feed", 1, 0);
    h.add("notification", 1, 0);
    auto first = lines.sync(h.groups());
    QCOMPARE(first.added, (std::vector<std::string>{"feed", "notification"}));
    QVERIFY(first.removed.empty());
    QCOMPARE(lines.slot("feed"), 0);
    QCOMPARE(lines.slot("notification"), 1);

    // The next refresh with the same groups changes nothing.
    h.add("feed", 2, 3);
    h.add("notification", 2, 0);
    auto same = lines.sync(h.groups());
    QVERIFY(same.added.empty() && same.removed.empty());

    // A group sorting before the others appears: it gets a line of its own, a fresh
    // colour, and the others keep theirs.
    h.add("card", 3, 8);
    auto later = lines.sync(h.groups());
    QCOMPARE(later.added, (std::vector<std::string>{"card"}));
    QVERIFY(later.removed.empty());
    QCOMPARE(lines.size(), size_t(3));
    QCOMPARE(lines.slot("card"), 2);
    QCOMPARE(lines.slot("feed"), 0);
    QCOMPARE(lines.slot("notification"), 1);
    QCOMPARE(lines.slot("unknown"), -1);
  }

  void aGroupTheHistoryDropsLosesItsLineAndTheNextGroupReusesItsColour() {
    LagHistory h(5, 2);
    LagSeriesSet lines;
    h.add("feed", 1, 0);
    h.add("notification", 2, 0);
    lines.sync(h.groups());
    h.add("transaction", 3, 0);  // past the group bound: feed, sampled longest ago, goes
    auto changes = lines.sync(h.groups());
    QCOMPARE(changes.removed, (std::vector<std::string>{"feed"}));
    QCOMPARE(changes.added, (std::vector<std::string>{"transaction"}));
    QCOMPARE(lines.groups(), (std::vector<std::string>{"notification", "transaction"}));
    QCOMPARE(lines.slot("transaction"), 0);
    QCOMPARE(lines.slot("feed"), -1);
  }

  void theLagAxisHasHeadroomAndRoundTicks() {
    auto axis = [](int64_t max) {
      LagAxis a = lagAxisFor(max);
      return std::make_pair(a.top, a.step);
    };
    QCOMPARE(axis(0), std::make_pair(int64_t(10), int64_t(2)));  // a flat zero line
    QCOMPARE(axis(-5), std::make_pair(int64_t(10), int64_t(2)));
    QCOMPARE(axis(9), std::make_pair(int64_t(10), int64_t(2)));
    QCOMPARE(axis(10), std::make_pair(int64_t(15), int64_t(5)));
    QCOMPARE(axis(123), std::make_pair(int64_t(150), int64_t(50)));
    QCOMPARE(axis(4000), std::make_pair(int64_t(5000), int64_t(1000)));
    for (int64_t max : {int64_t(1), int64_t(77), int64_t(999), int64_t(123456789)}) {
      const LagAxis a = lagAxisFor(max);
      QVERIFY2(a.top > max, qPrintable(QString::number(max)));
      QCOMPARE(a.top % a.step, int64_t(0));
      QVERIFY(a.top / a.step <= 5);
    }
  }

  void theDefaultBoundIsFiveMinutesAtOneSampleASecond() {
    LagHistory h;
    for (int i = 0; i < 1000; ++i) h.add("g", i, i);
    QCOMPARE(h.samples("g").size(), LagHistory::kSamplesPerGroup);
    QCOMPARE(h.samples("g").front().lag, int64_t(1000 - LagHistory::kSamplesPerGroup));
  }
};

}  // namespace sandbank::gui

QTEST_GUILESS_MAIN(sandbank::gui::BusModelsTest)
#include "bus_models_test.moc"
