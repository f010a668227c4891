// The Topology panel's graph: nodes and edges come from the events (services in the
// middle, topics and store nodes on their sides), failing edges are flagged, traffic rates
// decay when the traffic stops, the layout is deterministic, and a click focuses a node.
#include <QSignalSpy>
#include <QTest>

#include "panels/topology_model.h"
#include "panels/topology_panel.h"

namespace sandbank::gui {
namespace {

using Kind = TopologyNode::Kind;

flow::FlowEvent ev(flow::FlowKind kind, std::string src, std::string dst, std::string status = "OK") {
  flow::FlowEvent e;
  e.kind = kind;
  e.source = std::move(src);
  e.destination = std::move(dst);
  e.status = std::move(status);
  return e;
}

FlowBatch bank() {
  auto v = std::make_shared<std::vector<flow::FlowEvent>>();
  v->push_back(ev(flow::FlowKind::kRpc, "edge", "card-processor"));
  v->push_back(ev(flow::FlowKind::kRpc, "card-processor", "fraud", "UNAVAILABLE"));
  v->push_back(ev(flow::FlowKind::kRpc, "card-processor", "ledger"));
  auto pub = ev(flow::FlowKind::kPublish, "ledger", "bus");
  pub.topic = "ledger.entries";
  v->push_back(pub);
  auto del = ev(flow::FlowKind::kDeliver, "bus", "notification");
  del.topic = "ledger.entries";
  v->push_back(del);
  v->push_back(ev(flow::FlowKind::kStoreRequest, "ledger", "node-1"));
  v->push_back(ev(flow::FlowKind::kReplicaWrite, "node-1", "node-2"));
  v->push_back(ev(flow::FlowKind::kProcess, "supervisor", "fraud-2"));  // an instance of fraud
  v->push_back(ev(flow::FlowKind::kStoreRequest, "ledger-1", "node-1"));  // a client id: ledger
  return v;
}

}  // namespace

class TopologyModelTest : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void nodesAndEdgesComeFromTheEvents() {
    TopologyGraph g;
    QVERIFY(g.add(bank(), 0.0));
    for (const char* s : {"edge", "card-processor", "fraud", "ledger", "notification"}) {
      QVERIFY2(g.find(Kind::kService, s).has_value(), s);
    }
    QVERIFY(!g.find(Kind::kService, "bus").has_value());  // the bus is drawn as its topics
    QVERIFY(!g.find(Kind::kService, "supervisor").has_value());
    QVERIFY(!g.find(Kind::kService, "fraud-2").has_value());  // instances fold into their service
    QVERIFY(!g.find(Kind::kService, "ledger-1").has_value());
    QVERIFY(g.find(Kind::kTopic, "ledger.entries").has_value());
    QVERIFY(g.find(Kind::kStore, "node-1").has_value());
    QVERIFY(g.find(Kind::kStore, "node-2").has_value());
    QCOMPARE(g.nodes().size(), size_t(8));
    auto id = [&](Kind k, const char* n) { return *g.find(k, n); };
    QVERIFY(g.edge(id(Kind::kService, "edge"), id(Kind::kService, "card-processor")));
    QVERIFY(g.edge(id(Kind::kService, "ledger"), id(Kind::kTopic, "ledger.entries")));
    QVERIFY(g.edge(id(Kind::kTopic, "ledger.entries"), id(Kind::kService, "notification")));
    QVERIFY(g.edge(id(Kind::kService, "ledger"), id(Kind::kStore, "node-1")));
    QVERIFY(g.edge(id(Kind::kStore, "node-1"), id(Kind::kStore, "node-2")));
    QCOMPARE(g.edges().size(), size_t(7));
    // The same events again add traffic, not nodes or edges.
    QVERIFY(!g.add(bank(), 0.0));
    QCOMPARE(g.edge(id(Kind::kService, "edge"), id(Kind::kService, "card-processor"))->count, uint64_t(2));
    QCOMPARE(g.edge(id(Kind::kService, "ledger"), id(Kind::kStore, "node-1"))->count, uint64_t(4));
  }

  void failingEdgesAreFlaggedAndRecover() {
    TopologyGraph g;
    g.add(bank(), 0.0);
    const auto cp = *g.find(Kind::kService, "card-processor");
    const TopologyEdge* fraud = g.edge(cp, *g.find(Kind::kService, "fraud"));
    const TopologyEdge* ledger = g.edge(cp, *g.find(Kind::kService, "ledger"));
    QVERIFY(fraud->failing());
    QCOMPARE(fraud->errors, uint64_t(1));
    QVERIFY(!ledger->failing());
    // A fault between two known services counts against their edge too.
    auto fault = ev(flow::FlowKind::kFault, "card-processor", "ledger", "DEADLINE_EXCEEDED");
    g.add(fault, 0.5);
    QVERIFY(g.edge(cp, *g.find(Kind::kService, "ledger"))->failing());
    // Quiet for a while: no longer failing, though the count stays.
    g.decay(30.0);
    QVERIFY(!g.edge(cp, *g.find(Kind::kService, "fraud"))->failing());
    QCOMPARE(g.edge(cp, *g.find(Kind::kService, "fraud"))->errors, uint64_t(1));
  }

  void ratesRiseWithTrafficAndDecayWithout() {
    TopologyGraph g;
    auto burst = std::make_shared<std::vector<flow::FlowEvent>>(50, ev(flow::FlowKind::kRpc, "a", "b"));
    g.add(burst, 10.0);
    const TopologyEdge* e = g.edge(*g.find(Kind::kService, "a"), *g.find(Kind::kService, "b"));
    const double busy = e->rate();
    QVERIFY(busy > 10);
    QVERIFY(g.decay(11.0));  // still animating
    const double later = e->rate();
    QVERIFY(later < busy);
    QVERIFY(later > busy * 0.5);  // one second is half of kTau: about 0.61 of it is left
    QVERIFY(!g.decay(60.0));      // faded out: nothing left to animate
    QVERIFY(e->rate() < 0.01);
    QCOMPARE(e->count, uint64_t(50));
  }

  void theLayoutIsDeterministicWithTopicsLeftAndStoreRight() {
    TopologyGraph a, b;
    a.add(bank(), 0);
    const FlowBatch forward = bank();
    auto reversed = std::make_shared<std::vector<flow::FlowEvent>>(forward->rbegin(), forward->rend());
    b.add(reversed, 0);
    const QSizeF size(400, 600);
    const auto la = a.layout(size), lb = b.layout(size);
    for (size_t i = 0; i < a.nodes().size(); ++i) {
      const auto& n = a.nodes()[i];
      const size_t j = *b.find(n.kind, n.name);
      QCOMPARE(la[i], lb[j]);  // the same place whatever order they were seen in
      const double x = la[i].center().x();
      if (n.kind == Kind::kTopic) QVERIFY(x < size.width() / 3);
      if (n.kind == Kind::kService) QVERIFY(std::abs(x - size.width() / 2) < size.width() / 6);
      if (n.kind == Kind::kStore) QVERIFY(x > size.width() * 2 / 3);
      QCOMPARE(*a.nodeAt(la[i].center(), size), i);
      for (size_t k = 0; k < i; ++k) QVERIFY2(!la[i].intersects(la[k]), n.name.c_str());  // no overlaps
    }
    QVERIFY(!a.nodeAt(QPointF(2, 2), size).has_value());
  }

  void clickingANodeFocusesItAndEmptySpaceClears() {
    FlowFeed feed;
    Selection selection;
    GuiContext context;
    context.feed = &feed;
    context.selection = &selection;
    TopologyPanel panel(context);
    panel.resize(400, 600);
    panel.show();
    feed.start();
    feed.inject(std::vector<flow::FlowEvent>(*bank()));
    QTRY_COMPARE(panel.graph().nodes().size(), size_t(8));
    const auto at = panel.graph().layout(panel.view()->size());
    const size_t ledger = *panel.graph().find(Kind::kService, "ledger");
    QSignalSpy focused(&selection, &Selection::serviceFocused);
    QTest::mouseClick(panel.view(), Qt::LeftButton, {}, at[ledger].center().toPoint());
    QCOMPARE(selection.service(), QString("ledger"));
    QTest::mouseClick(panel.view(), Qt::LeftButton, {}, QPoint(3, panel.view()->height() - 3));
    QCOMPARE(selection.service(), QString());
    QCOMPARE(focused.count(), 2);
  }
};

}  // namespace sandbank::gui

QTEST_MAIN(sandbank::gui::TopologyModelTest)
#include "topology_model_test.moc"
