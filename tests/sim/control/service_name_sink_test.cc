// ServiceNameSink: bus and log events name services as the mesh does, so a trace has one
// lifeline per service; process events keep the instance.
#include <gtest/gtest.h>

#include "../../../sim/control/src/service_name_sink.h"

namespace sandbank::control {
namespace {

flow::FlowEvent event(flow::FlowKind kind, std::string source, std::string destination) {
  flow::FlowEvent e;
  e.kind = kind;
  e.source = std::move(source);
  e.destination = std::move(destination);
  return e;
}

TEST(ServiceNameSinkTest, BusAndLogEventsNameTheServiceNotTheInstance) {
  flow::CollectingFlowSink out;
  ServiceNameSink sink(out, {"card-processor", "transaction", "fps-hub"});
  sink.emit(event(flow::FlowKind::kPublish, "card-processor-1", "bus"));
  sink.emit(event(flow::FlowKind::kDeliver, "bus", "transaction-12"));
  sink.emit(event(flow::FlowKind::kLog, "fps-hub-2", ""));
  auto got = out.events();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].source, "card-processor");
  EXPECT_EQ(got[0].destination, "bus");
  EXPECT_EQ(got[1].destination, "transaction");
  EXPECT_EQ(got[2].source, "fps-hub");
}

TEST(ServiceNameSinkTest, LeavesProcessEventsAndUnknownNamesAlone) {
  flow::CollectingFlowSink out;
  ServiceNameSink sink(out, {"ledger"});
  sink.emit(event(flow::FlowKind::kProcess, "supervisor", "ledger-1"));
  sink.emit(event(flow::FlowKind::kPublish, "producer-7", "bus"));   // not a service
  sink.emit(event(flow::FlowKind::kPublish, "ledger-x", "bus"));     // not an instance suffix
  sink.emit(event(flow::FlowKind::kPublish, "ledger-", "bus"));
  auto got = out.events();
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0].destination, "ledger-1");
  EXPECT_EQ(got[1].source, "producer-7");
  EXPECT_EQ(got[2].source, "ledger-x");
  EXPECT_EQ(got[3].source, "ledger-");
}

}  // namespace
}  // namespace sandbank::control
