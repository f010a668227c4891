// The Trace panel's model on a fixed trace: the diagram's rows and participants are
// exactly flow::buildSequence's (what `sandbank flow --dump` draws), clicks map to the
// arrow's event, the exports (SVG, PNG, Mermaid) are written and name every participant,
// and the picker lists recent traces newest first, bounded.
#include <QComboBox>
#include <QFile>
#include <QImage>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include "panels/trace_model.h"
#include "panels/trace_panel.h"
#include "sandbank/flow/flow_dump.h"

namespace sandbank::gui {
namespace {

const std::string kTrace = "0af7651916cd43dd8448eb211c80319c";

flow::FlowEvent ev(uint64_t id, flow::FlowKind kind, std::string src, std::string dst, int64_t start_ms,
                   int64_t end_ms, std::string span, std::string parent) {
  flow::FlowEvent e;
  e.id = id;
  e.trace_id = kTrace;
  e.kind = kind;
  e.source = std::move(src);
  e.destination = std::move(dst);
  e.start_sim_us = 1'700'000'000'000'000 + start_ms * 1000;
  e.end_sim_us = 1'700'000'000'000'000 + end_ms * 1000;
  e.span_id = std::move(span);
  e.parent_span_id = std::move(parent);
  return e;
}

// A card payment: edge -> card-processor -> fraud (delayed by a fault, fails) and ledger,
// then a publish and its delivery, and a store write.
std::vector<flow::FlowEvent> cardPayment() {
  std::vector<flow::FlowEvent> v;
  auto a = ev(1, flow::FlowKind::kRpc, "edge", "card-processor", 0, 40, "s1", "");
  a.method = "sandbank.card.CardProcessor/Authorise";
  v.push_back(a);
  auto f = ev(2, flow::FlowKind::kFault, "card-processor", "fraud", 1, 1, "", "s2");
  f.method = "sandbank.fraud.Fraud/Score";
  f.status = "DEADLINE_EXCEEDED";
  f.detail = "rule slow-fraud: delay 3s";
  v.push_back(f);
  auto b = ev(3, flow::FlowKind::kRpc, "card-processor", "fraud", 1, 11, "s2", "s1");
  b.method = "sandbank.fraud.Fraud/Score";
  b.status = "DEADLINE_EXCEEDED";
  v.push_back(b);
  auto c = ev(4, flow::FlowKind::kRpc, "card-processor", "ledger", 12, 30, "s3", "s1");
  c.method = "sandbank.ledger.Ledger/PostEntrySet";
  v.push_back(c);
  auto s = ev(5, flow::FlowKind::kStoreRequest, "ledger", "node-2", 14, 20, "s4", "s3");
  s.method = "WRITE";
  s.keyspace = "bank";
  s.table = "entries";
  v.push_back(s);
  auto p = ev(6, flow::FlowKind::kPublish, "ledger", "bus", 22, 22, "", "s3");
  p.topic = "ledger.entries";
  v.push_back(p);
  auto d = ev(7, flow::FlowKind::kDeliver, "bus", "notification", 25, 25, "", "s3");
  d.topic = "ledger.entries";
  v.push_back(d);
  return v;
}

bool fileHas(const QString& path, const QString& text) {
  QFile f(path);
  if (!f.open(QIODevice::ReadOnly)) return false;
  return QString::fromUtf8(f.readAll()).contains(text);
}

}  // namespace

class TracePanelTest : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void theDiagramIsTheSameModelAsTheDump() {
    TraceDiagram d;
    auto events = cardPayment();
    std::reverse(events.begin(), events.end());  // arrival order does not matter
    d.setEvents(events);
    const flow::SequenceModel want = flow::buildSequence(cardPayment());
    QCOMPARE(d.model().participants, want.participants);
    QCOMPARE(d.model().rows.size(), want.rows.size());
    for (size_t i = 0; i < want.rows.size(); ++i) {
      QCOMPARE(d.model().rows[i].event_id, want.rows[i].event_id);
      QCOMPARE(int(d.model().rows[i].style), int(want.rows[i].style));
      QCOMPARE(d.model().rows[i].failed, want.rows[i].failed);
      QCOMPARE(d.model().rows[i].fault, want.rows[i].fault);
    }
    // Two rpcs and a store request each add a reply row.
    QCOMPARE(want.rows.size(), size_t(7 + 4));
    QCOMPARE(d.spanUs(), int64_t(40'000));
    // The drawing is as tall as its rows and as wide as its participants.
    QVERIFY(d.sequenceSize().height() >= TraceDiagram::kHeader + 11 * TraceDiagram::kRow);
    QVERIFY(d.sequenceSize().width() >= TraceDiagram::kColumn * double(want.participants.size()));
  }

  void aClickOnAnArrowIsItsEvent() {
    TraceDiagram d;
    d.setEvents(cardPayment());
    const auto& rows = d.model().rows;
    for (size_t i = 0; i < rows.size(); ++i) {
      if (rows[i].style == flow::SequenceRow::Style::kMarker) continue;
      const double x = TraceDiagram::kTimeGutter + TraceDiagram::kColumn / 2 +
                       TraceDiagram::kColumn * (double(rows[i].from) + double(rows[i].to)) / 2;
      const double y = TraceDiagram::kHeader + 10 + TraceDiagram::kRow * (double(i) + 0.5);
      QCOMPARE(d.eventAtSequence(QPointF(x, y)), rows[i].event_id);
    }
    QCOMPARE(d.eventAtSequence(QPointF(100, 5)), uint64_t(0));  // the participant heads
    QCOMPARE(d.eventAtSequence(QPointF(100, 10000)), uint64_t(0));  // below the last row
    // The waterfall's first bar is the earliest span.
    QCOMPARE(d.eventAtTimeline(QPointF(400, TraceDiagram::kBarRow * 1.6 + 2)), uint64_t(1));
  }

  void exportsAreWrittenAndNameEveryParticipant() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    TraceDiagram d;
    d.setEvents(cardPayment());
    const QString svg = dir.filePath("t.svg"), png = dir.filePath("t.png"), mmd = dir.filePath("t.mmd");
    QVERIFY(d.exportSvg(svg, "trace").ok());
    QVERIFY(d.exportPng(png).ok());
    QVERIFY(d.exportMermaid(mmd).ok());
    for (const auto& p : d.model().participants) {
      QVERIFY2(fileHas(svg, QString::fromStdString(p)), p.c_str());
      QVERIFY2(fileHas(mmd, "as " + QString::fromStdString(p)), p.c_str());
    }
    QVERIFY(fileHas(mmd, "sequenceDiagram"));
    QVERIFY(fileHas(svg, "Authorise"));
    QFile m(mmd);
    QVERIFY(m.open(QIODevice::ReadOnly));
    QCOMPARE(m.readAll().toStdString(), flow::renderMermaid(cardPayment()));
    QImage image(png);
    QVERIFY(!image.isNull());
    QVERIFY(image.width() >= int(d.exportSize().width()));
    // Not a blank page: the arrows and text left dark pixels.
    int dark = 0;
    for (int y = 0; y < image.height(); y += 2)
      for (int x = 0; x < image.width(); x += 2) dark += qGray(image.pixel(x, y)) < 128 ? 1 : 0;
    QVERIFY2(dark > 200, qPrintable(QString::number(dark)));
    // Nothing to export is an error, not an empty file.
    TraceDiagram none;
    QVERIFY(!none.exportSvg(dir.filePath("none.svg")).ok());
    QVERIFY(!QFile::exists(dir.filePath("none.svg")));
  }

  void thePickerListsRecentTracesNewestFirstAndBounded() {
    TraceIndex index(3, 2);
    auto batch = std::make_shared<std::vector<flow::FlowEvent>>();
    for (uint64_t t = 1; t <= 5; ++t) {
      for (int k = 0; k < 3; ++k) {
        flow::FlowEvent e;
        e.id = t * 10 + static_cast<uint64_t>(k);
        e.trace_id = "trace-" + std::to_string(t);
        e.source = "edge";
        e.destination = "card";
        e.status = k == 2 && t == 4 ? "UNAVAILABLE" : "OK";
        batch->push_back(e);
      }
    }
    flow::FlowEvent untraced;
    untraced.id = 99;
    batch->push_back(untraced);
    QVERIFY(index.add(batch));
    QCOMPARE(index.size(), size_t(3));
    const auto recent = index.recent(10);
    QCOMPARE(recent.size(), size_t(3));
    QCOMPARE(recent[0].trace_id, std::string("trace-5"));
    QCOMPARE(recent[1].trace_id, std::string("trace-4"));
    QCOMPARE(recent[2].trace_id, std::string("trace-3"));
    QCOMPARE(recent[1].errors, size_t(1));
    QCOMPARE(recent[1].events, size_t(3));
    QCOMPARE(index.eventsOf("trace-4")->size(), size_t(2));  // bounded per trace
    QVERIFY(index.eventsOf("trace-1") == nullptr);         // the oldest trace was dropped
  }

  void aRecordingTraceIsDrawnAndAClickSelectsItsEvent() {
    FlowFeed feed;
    Selection selection;
    GuiContext context;
    context.feed = &feed;
    context.selection = &selection;
    TracePanel panel(context);
    panel.resize(1000, 400);
    panel.show();
    feed.start();
    feed.inject(cardPayment());
    // With nothing picked, the newest trace is shown.
    QTRY_COMPARE(panel.diagram().events().size(), size_t(7));
    QCOMPARE(panel.currentTrace(), QString::fromStdString(kTrace));
    QTRY_COMPARE(panel.picker()->count(), 1);
    QSignalSpy chosen(&selection, &Selection::eventSelected);
    const auto& row = panel.diagram().model().rows[0];
    const double x = TraceDiagram::kTimeGutter + TraceDiagram::kColumn / 2 +
                     TraceDiagram::kColumn * (double(row.from) + double(row.to)) / 2;
    QTest::mouseClick(panel.sequenceCanvas(), Qt::LeftButton, {},
                      QPoint(int(x), int(TraceDiagram::kHeader + 10 + TraceDiagram::kRow / 2)));
    QCOMPARE(chosen.count(), 1);
    QCOMPARE(chosen.at(0).at(0).toULongLong(), row.event_id);
    // A trace the recording does not hold says so.
    selection.selectTrace("ffffffffffffffffffffffffffffffff");
    QVERIFY(panel.diagram().empty());
  }
};

}  // namespace sandbank::gui

QTEST_MAIN(sandbank::gui::TracePanelTest)
#include "trace_panel_test.moc"
