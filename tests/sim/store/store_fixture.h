// Shared test fixture: a cluster on a ManualClock with a CQL session and one keyspace.
// Thread-safety: the helpers are as thread-safe as Session (fully).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "sandbank/core/clock.h"
#include "sandbank/flow/flow_event.h"
#include "sandbank/store/cluster.h"
#include "sandbank/store/session.h"

namespace sandbank::store::testing {

class StoreFixture : public ::testing::Test {
 protected:
  void start(ClusterOptions options = {}, int rf = 3) {
    cluster_ = std::make_unique<Cluster>(std::move(options), clock_, sink_);
    session_ = std::make_unique<Session>(*cluster_);
    ASSERT_TRUE(run("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': " +
                    std::to_string(rf) + "}")
                    .ok());
  }

  Result<ResultSet> run(const std::string& cql, std::vector<Value> binds = {},
                        ConsistencyLevel cl = ConsistencyLevel::kOne, std::optional<int> coordinator = std::nullopt,
                        std::string client = "") {
    QueryOptions o;
    o.keyspace = "ks";
    o.ctx.consistency = cl;
    if (coordinator) o.ctx.coordinator = NodeId(*coordinator);
    o.ctx.client_id = std::move(client);
    return session_->execute(cql, binds, o);
  }

  // Asserts success and returns the rows.
  std::vector<std::vector<Value>> rows(const std::string& cql, std::vector<Value> binds = {},
                                       ConsistencyLevel cl = ConsistencyLevel::kOne,
                                       std::optional<int> coordinator = std::nullopt) {
    auto r = run(cql, std::move(binds), cl, coordinator);
    EXPECT_TRUE(r.ok()) << r.status().toString() << " for " << cql;
    return r.ok() ? r->rows : std::vector<std::vector<Value>>{};
  }

  // Which node ids hold a live copy of the partition's data (any row or cell).
  std::vector<int> holders(const std::string& table, std::vector<Value> key) {
    std::vector<int> out;
    auto views = cluster_->inspectPartition("ks", table, key);
    EXPECT_TRUE(views.ok()) << views.status().toString();
    if (!views.ok()) return out;
    for (const ReplicaView& v : *views) {
      if (!v.data.rows.empty()) out.push_back(v.node.value());
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  std::vector<int> replicaIds(const std::string& table, std::vector<Value> key) {
    auto t = cluster_->table("ks", table);
    auto r = cluster_->replicasFor(*t, key);
    std::vector<int> out;
    for (NodeId id : *r) out.push_back(id.value());
    return out;
  }

  ManualClock clock_;
  flow::CollectingFlowSink sink_;
  std::unique_ptr<Cluster> cluster_;
  std::unique_ptr<Session> session_;
};

}  // namespace sandbank::store::testing
