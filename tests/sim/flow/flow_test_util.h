// Shared fixtures for the flow tests: a temporary directory, event builders and the
// small multi-hop card-payment trace used by the golden diagram and the query tests.
// Thread-safety: test-only helpers, used from the test's thread.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "sandbank/flow/flow_dump.h"
#include "sandbank/flow/flow_event.h"

namespace sandbank::flow::testing {

// A fresh directory under the system temp dir, removed on destruction.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("sandbank-flow-" + std::to_string(rd()) + "-" + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

inline FlowEvent makeEvent(FlowKind kind, std::string source, std::string destination,
                           std::string trace, int64_t start_us, int64_t end_us) {
  FlowEvent e;
  e.kind = kind;
  e.source = std::move(source);
  e.destination = std::move(destination);
  e.trace_id = std::move(trace);
  e.start_sim_us = start_us;
  e.end_sim_us = end_us;
  e.start_real_us = start_us + 1;  // nonzero so the hub keeps them as given
  e.end_real_us = end_us + 1;
  return e;
}

inline constexpr int64_t kT0 = 1'700'000'000'000'000;
inline constexpr const char* kPaymentTrace = "4bf92f3577b34da6a3ce929d0e0e4736";

// edge -> card-processor.Authorise -> ledger.PostEntrySet -> a QUORUM store write on
// three replicas (one of them delayed by a fault rule); then card-processor publishes to
// card.authorisations, delivered to the `transaction` and `fraud` consumer groups.
// Returned in the order a mesh would emit them (an rpc is emitted when it completes).
inline std::vector<FlowEvent> paymentTrace(const std::string& trace = kPaymentTrace,
                                           int64_t t0 = kT0) {
  std::vector<FlowEvent> v;
  auto add = [&](FlowKind k, const char* src, const char* dst, int64_t s, int64_t e,
                 const char* span, const char* parent) -> FlowEvent& {
    v.push_back(makeEvent(k, src, dst, trace, t0 + s, t0 + e));
    v.back().span_id = span;
    v.back().parent_span_id = parent;
    return v.back();
  };
  {
    auto& e = add(FlowKind::kReplicaWrite, "store/node-1", "store/node-2", 1200, 1800,
                  "00000000000000c2", "00000000000000c1");
    e.keyspace = "ledger";
    e.table = "entries";
    e.partition_key = "acc-42";
    e.method = "INSERT";
  }
  {
    auto& e = add(FlowKind::kFault, "store/node-1", "store/node-3", 1300, 1300,
                  "00000000000000f1", "00000000000000c1");
    e.detail = "rule slow-node-3: delay 5ms";
    e.keyspace = "ledger";
    e.table = "entries";
  }
  {
    auto& e = add(FlowKind::kStoreRequest, "ledger", "store/node-1", 1000, 3500,
                  "00000000000000c1", "00000000000000b1");
    e.keyspace = "ledger";
    e.table = "entries";
    e.partition_key = "acc-42";
    e.method = "INSERT";
    e.detail = "CL=QUORUM acks 2/3";
  }
  {
    auto& e = add(FlowKind::kRpc, "card-processor", "ledger", 500, 4500, "00000000000000b1",
                  "00000000000000a1");
    e.method = "sandbank.ledger.Ledger/PostEntrySet";
    e.payload = std::string("\x0a\x03" "acc\x00\xff", 7);
    e.payload_type = "sandbank.ledger.PostEntrySetRequest";
    e.size = 7;
  }
  {
    auto& e = add(FlowKind::kPublish, "card-processor", "bus", 5000, 5000, "00000000000000d1",
                  "00000000000000a1");
    e.topic = "card.authorisations";
    e.partition = 3;
    e.offset = 41;
    e.size = 120;
  }
  {
    auto& e = add(FlowKind::kReplicaWrite, "store/node-1", "store/node-3", 1300, 6300,
                  "00000000000000c3", "00000000000000c1");
    e.keyspace = "ledger";
    e.table = "entries";
    e.partition_key = "acc-42";
    e.method = "INSERT";
    e.status = "WriteTimeout";
    e.detail = "acked after the coordinator answered";
  }
  {
    auto& e = add(FlowKind::kDeliver, "bus", "transaction", 6000, 6000, "00000000000000d2",
                  "00000000000000d1");
    e.topic = "card.authorisations";
    e.partition = 3;
    e.offset = 41;
    e.consumer_group = "transaction";
  }
  {
    auto& e = add(FlowKind::kDeliver, "bus", "fraud", 6100, 6100, "00000000000000d3",
                  "00000000000000d1");
    e.topic = "card.authorisations";
    e.partition = 3;
    e.offset = 41;
    e.consumer_group = "fraud";
  }
  {
    auto& e = add(FlowKind::kRpc, "edge", "card-processor", 0, 9000, "00000000000000a1", "");
    e.method = "sandbank.card.CardProcessor/Authorise";
    e.payload = "{\"amount\":1250}";
    e.size = static_cast<int64_t>(e.payload.size());
  }
  return v;
}

// Events equal in every field, payload bytes included.
inline void expectSameEvents(const std::vector<FlowEvent>& want,
                             const std::vector<FlowEvent>& got) {
  ASSERT_EQ(want.size(), got.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(eventToJson(want[i]), eventToJson(got[i])) << "event #" << i;
    EXPECT_EQ(want[i].payload, got[i].payload) << "event #" << i;
  }
}

}  // namespace sandbank::flow::testing
