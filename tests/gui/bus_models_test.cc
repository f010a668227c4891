// The bus panel's models: record bytes as text/JSON/hex, the browse search over keys and
// values, and the lag history that never grows past its bound.
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
