// Engine behaviour from DOMAIN.md: consistency outcomes, timeouts with partial writes,
// hints, read repair, last-write-wins, tombstones and gc_grace, joins without streaming,
// TTL, batches and LWT.
#include <atomic>
#include <climits>
#include <thread>

#include "sandbank/store/murmur3.h"
#include "store_fixture.h"

namespace sandbank::store::testing {
namespace {

using CL = ConsistencyLevel;

class ClusterTest : public StoreFixture {};

// ---------------------------------------------------------------- the outcome table

struct OutcomeRow {
  CL cl;
  // Expected outcome with 0, 1, 2, 3 of the key's three replicas down:
  // 'o' = OK, 'U' = Unavailable, 'I' = InvalidQuery.
  const char* writes;
  const char* reads;
};

// RF=3 in one datacenter. QUORUM = LOCAL_QUORUM = EACH_QUORUM = 2 replicas.
constexpr OutcomeRow kOutcomes[] = {
    {CL::kAny, "oooo", "IIII"},
    {CL::kOne, "oooU", "oooU"},
    {CL::kLocalOne, "oooU", "oooU"},
    {CL::kTwo, "ooUU", "ooUU"},
    {CL::kThree, "oUUU", "oUUU"},
    {CL::kQuorum, "ooUU", "ooUU"},
    {CL::kLocalQuorum, "ooUU", "ooUU"},
    {CL::kEachQuorum, "ooUU", "IIII"},
    {CL::kAll, "oUUU", "oUUU"},
};

TEST_F(ClusterTest, OutcomeTableForEveryConsistencyLevelWithZeroToThreeReplicasDown) {
  // Four nodes, RF=3: the coordinator is the one node that is not a replica of key 7, so
  // it stays up while 0..3 replicas go down.
  ClusterOptions o;
  o.node_datacenters = {"dc1", "dc1", "dc1", "dc1"};
  start(o);
  ASSERT_TRUE(run("CREATE TABLE kv (k int PRIMARY KEY, v text)").ok());
  std::vector<int> reps = replicaIds("kv", {Value::integer(7)});
  ASSERT_EQ(reps.size(), 3u);
  int coordinator = 0;
  for (int n = 1; n <= 4; ++n) {
    if (std::find(reps.begin(), reps.end(), n) == reps.end()) coordinator = n;
  }
  ASSERT_NE(coordinator, 0);
  ASSERT_TRUE(run("INSERT INTO kv (k, v) VALUES (7, 'seed')", {}, CL::kAll, coordinator).ok());

  for (const OutcomeRow& row : kOutcomes) {
    for (int down = 0; down <= 3; ++down) {
      for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE((i < down ? cluster_->nodeDown(NodeId(reps[i])) : cluster_->nodeUp(NodeId(reps[i]))).ok());
      }
      std::string label = std::string(consistencyName(row.cl)) + " with " + std::to_string(down) + " down";
      auto w = run("INSERT INTO kv (k, v) VALUES (7, 'x')", {}, row.cl, coordinator);
      char want = row.writes[down];
      if (want == 'o') {
        EXPECT_TRUE(w.ok()) << "write " << label << ": " << w.status().toString();
      } else {
        EXPECT_EQ(storeErrorOf(w.status()), want == 'U' ? StoreError::kUnavailable : StoreError::kInvalidQuery)
            << "write " << label << ": " << w.status().toString();
      }
      auto r = run("SELECT v FROM kv WHERE k = 7", {}, row.cl, coordinator);
      want = row.reads[down];
      if (want == 'o') {
        EXPECT_TRUE(r.ok()) << "read " << label << ": " << r.status().toString();
      } else {
        EXPECT_EQ(storeErrorOf(r.status()), want == 'U' ? StoreError::kUnavailable : StoreError::kInvalidQuery)
            << "read " << label << ": " << r.status().toString();
      }
    }
  }
}

TEST_F(ClusterTest, UnavailableWriteLeavesNothingAnywhere) {
  start();
  ASSERT_TRUE(run("CREATE TABLE kv (k int PRIMARY KEY, v text)").ok());
  ASSERT_TRUE(cluster_->nodeDown(NodeId(2)).ok());
  ASSERT_TRUE(cluster_->nodeDown(NodeId(3)).ok());
  auto w = run("INSERT INTO kv (k, v) VALUES (1, 'lost')", {}, CL::kQuorum, 1);
  ASSERT_EQ(storeErrorOf(w.status()), StoreError::kUnavailable) << w.status().toString();
  EXPECT_NE(w.status().message().find("Unavailable"), std::string::npos);
  EXPECT_EQ(w.status().code(), StatusCode::kUnavailable);
  EXPECT_TRUE(holders("kv", {Value::integer(1)}).empty());
  EXPECT_TRUE(cluster_->pendingHints().empty());
}

TEST_F(ClusterTest, QuorumWriteFansOutToEveryReplicaAsFlowEvents) {
  start();
  ASSERT_TRUE(run("CREATE TABLE kv (k int PRIMARY KEY, v text)").ok());
  sink_.clear();
  ASSERT_TRUE(run("INSERT INTO kv (k, v) VALUES (1, 'a')", {}, CL::kQuorum, 1).ok());
  int replica_writes = 0, requests = 0;
  for (const auto& e : sink_.events()) {
    if (e.kind == flow::FlowKind::kReplicaWrite) {
      ++replica_writes;
      EXPECT_EQ(e.source, "node-1");
      EXPECT_EQ(e.table, "kv");
      EXPECT_EQ(e.partition_key, "1");
    }
    if (e.kind == flow::FlowKind::kStoreRequest) ++requests;
  }
  EXPECT_EQ(replica_writes, 3);
  EXPECT_EQ(requests, 1);
}

// ---------------------------------------------------------------- timeouts and repair

TEST_F(ClusterTest, TimedOutWriteLeavesPartialDataThatALaterQuorumReadRepairs) {
  start();
  ASSERT_TRUE(run("CREATE TABLE kv (k int PRIMARY KEY, v text)").ok());
  // Given two replicas that look alive but never answer.
  ASSERT_TRUE(cluster_->setIsolated(NodeId(2), true).ok());
  ASSERT_TRUE(cluster_->setIsolated(NodeId(3), true).ok());
  // When a QUORUM write is coordinated by node 1.
  auto w = run("INSERT INTO kv (k, v) VALUES (1, 'partial')", {}, CL::kQuorum, 1);
  // Then it times out (not Unavailable) but the write stays where it landed.
  ASSERT_EQ(storeErrorOf(w.status()), StoreError::kWriteTimeout) << w.status().toString();
  EXPECT_EQ(w.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(holders("kv", {Value::integer(1)}), std::vector<int>{1});

  // When the partition heals and a QUORUM read runs (before any hint is delivered).
  ASSERT_TRUE(cluster_->setIsolated(NodeId(2), false).ok());
  ASSERT_TRUE(cluster_->setIsolated(NodeId(3), false).ok());
  sink_.clear();
  auto r = rows("SELECT v FROM kv WHERE k = 1", {}, CL::kQuorum, 1);
  // Then the read returns the write and repairs the replica that took part in the read,
  // and only that one.
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0][0], Value::text("partial"));
  EXPECT_EQ(holders("kv", {Value::integer(1)}).size(), 2u);
  int repairs = 0;
  for (const auto& e : sink_.events()) repairs += e.kind == flow::FlowKind::kRepair;
  EXPECT_EQ(repairs, 1);
}

TEST_F(ClusterTest, SlowReplicasBeyondTheTimeoutCauseWriteTimeoutButStillApply) {
  start();
  ASSERT_TRUE(run("CREATE TABLE kv (k int PRIMARY KEY, v text)").ok());
  ASSERT_TRUE(cluster_->setSlow(NodeId(2), std::chrono::seconds(3)).ok());
  // One slow replica: QUORUM still succeeds from the other two.
  EXPECT_TRUE(run("INSERT INTO kv (k, v) VALUES (1, 'a')", {}, CL::kQuorum, 1).ok());
  ASSERT_TRUE(cluster_->setSlow(NodeId(3), std::chrono::seconds(3)).ok());
  auto w = run("INSERT INTO kv (k, v) VALUES (2, 'b')", {}, CL::kQuorum, 1);
  EXPECT_EQ(storeErrorOf(w.status()), StoreError::kWriteTimeout) << w.status().toString();
  EXPECT_EQ(holders("kv", {Value::integer(2)}).size(), 3u);
  // Added latency below the timeout only slows the request down.
  ASSERT_TRUE(cluster_->setSlow(NodeId(2), std::chrono::milliseconds(50)).ok());
  ASSERT_TRUE(cluster_->setSlow(NodeId(3), std::chrono::milliseconds(50)).ok());
  EXPECT_TRUE(run("INSERT INTO kv (k, v) VALUES (3, 'c')", {}, CL::kAll, 1).ok());
  // A read whose chosen replica never answers times out.
  ASSERT_TRUE(cluster_->setIsolated(NodeId(1), true).ok());
  auto r = run("SELECT * FROM kv WHERE k = 3", {}, CL::kOne);
  EXPECT_EQ(storeErrorOf(r.status()), StoreError::kReadTimeout) << r.status().toString();
}

TEST_F(ClusterTest, HintsReplayWhenTheReplicaComesBack) {
  start();
  ASSERT_TRUE(run("CREATE TABLE kv (k int PRIMARY KEY, v text)").ok());
  ASSERT_TRUE(cluster_->nodeDown(NodeId(3)).ok());
  ASSERT_TRUE(run("INSERT INTO kv (k, v) VALUES (1, 'hinted')", {}, CL::kQuorum, 1).ok());
  auto hints = cluster_->pendingHints();
  ASSERT_EQ(hints.size(), 1u);
  EXPECT_EQ(hints[0].holder, NodeId(1));
  EXPECT_EQ(hints[0].target, NodeId(3));
  EXPECT_EQ(holders("kv", {Value::integer(1)}), (std::vector<int>{1, 2}));

  ASSERT_TRUE(cluster_->nodeUp(NodeId(3)).ok());
  EXPECT_TRUE(cluster_->pendingHints().empty());
  EXPECT_EQ(holders("kv", {Value::integer(1)}).size(), 3u);
  auto r = rows("SELECT v FROM kv WHERE k = 1", {}, CL::kOne, 3);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0][0], Value::text("hinted"));
  EXPECT_EQ(cluster_->nodeStats()[0].hints_replayed, 1);
}

TEST_F(ClusterTest, NoHintIsKeptOnceTheReplicaHasBeenDownLongerThanTheHintWindow) {
  start();
  ASSERT_TRUE(run("CREATE TABLE kv (k int PRIMARY KEY, v text)").ok());
  ASSERT_TRUE(cluster_->nodeDown(NodeId(3)).ok());
  clock_.advance(std::chrono::hours(4));
  ASSERT_TRUE(run("INSERT INTO kv (k, v) VALUES (1, 'x')", {}, CL::kQuorum, 1).ok());
  EXPECT_TRUE(cluster_->pendingHints().empty());
  ASSERT_TRUE(cluster_->nodeUp(NodeId(3)).ok());
  EXPECT_TRUE(rows("SELECT v FROM kv WHERE k = 1", {}, CL::kOne, 3).empty());
  // Repair brings it back in line.
  auto fixed = cluster_->repair("ks");
  ASSERT_TRUE(fixed.ok());
  EXPECT_EQ(*fixed, 1);
  EXPECT_EQ(rows("SELECT v FROM kv WHERE k = 1", {}, CL::kOne, 3).size(), 1u);
}

// ---------------------------------------------------------------- last write wins

TEST_F(ClusterTest, OnATimestampTieTheLargerValueWinsWhicheverArrivesFirst) {
  start();
  ASSERT_TRUE(run("CREATE TABLE kv (k int PRIMARY KEY, v text)").ok());
  ASSERT_TRUE(run("INSERT INTO kv (k, v) VALUES (1, 'b') USING TIMESTAMP 1000", {}, CL::kAll).ok());
  ASSERT_TRUE(run("INSERT INTO kv (k, v) VALUES (1, 'a') USING TIMESTAMP 1000", {}, CL::kAll).ok());
  ASSERT_TRUE(run("INSERT INTO kv (k, v) VALUES (2, 'a') USING TIMESTAMP 1000", {}, CL::kAll).ok());
  ASSERT_TRUE(run("INSERT INTO kv (k, v) VALUES (2, 'b') USING TIMESTAMP 1000", {}, CL::kAll).ok());
  EXPECT_EQ(rows("SELECT v FROM kv WHERE k = 1", {}, CL::kAll)[0][0], Value::text("b"));
  EXPECT_EQ(rows("SELECT v FROM kv WHERE k = 2", {}, CL::kAll)[0][0], Value::text("b"));
  // An older timestamp loses even when it arrives last.
  ASSERT_TRUE(run("INSERT INTO kv (k, v) VALUES (2, 'z') USING TIMESTAMP 999", {}, CL::kAll).ok());
  EXPECT_EQ(rows("SELECT v FROM kv WHERE k = 2", {}, CL::kAll)[0][0], Value::text("b"));
}

TEST_F(ClusterTest, OnATimestampTieADeleteBeatsAWrite) {
  start();
  ASSERT_TRUE(run("CREATE TABLE kv (k int PRIMARY KEY, v text)").ok());
  ASSERT_TRUE(run("DELETE FROM kv USING TIMESTAMP 5000 WHERE k = 1", {}, CL::kAll).ok());
  ASSERT_TRUE(run("INSERT INTO kv (k, v) VALUES (1, 'after') USING TIMESTAMP 5000", {}, CL::kAll).ok());
  EXPECT_TRUE(rows("SELECT * FROM kv WHERE k = 1", {}, CL::kAll).empty());
  ASSERT_TRUE(run("INSERT INTO kv (k, v) VALUES (1, 'newer') USING TIMESTAMP 5001", {}, CL::kAll).ok());
  EXPECT_EQ(rows("SELECT v FROM kv WHERE k = 1", {}, CL::kAll).size(), 1u);
}

TEST_F(ClusterTest, ClientClockSkewSilentlyLosesALaterUpdate) {
  start();
  ASSERT_TRUE(run("CREATE TABLE balance (account text PRIMARY KEY, pence bigint)").ok());
  cluster_->setClientSkew("ledger-2", -std::chrono::seconds(30));
  ASSERT_TRUE(run("INSERT INTO balance (account, pence) VALUES ('acc', 100)", {}, CL::kQuorum, 1, "ledger-1").ok());
  clock_.advance(std::chrono::seconds(1));
  // ledger-2 writes later in real order, but its clock is 30 s behind.
  auto late = run("INSERT INTO balance (account, pence) VALUES ('acc', 250)", {}, CL::kQuorum, 2, "ledger-2");
  ASSERT_TRUE(late.ok()) << late.status().toString();  // no error: the loss is silent
  auto r = rows("SELECT pence FROM balance WHERE account = 'acc'", {}, CL::kAll);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0][0], Value::integer(100));
}

// ---------------------------------------------------------------- tombstones

TEST_F(ClusterTest, DeletedRowComesBackAfterGcGraceFromAnUnrepairedReplica) {
  start();
  ASSERT_TRUE(run("CREATE TABLE kv (k int PRIMARY KEY, v text) WITH gc_grace_seconds = 3600").ok());
  ASSERT_TRUE(run("INSERT INTO kv (k, v) VALUES (1, 'zombie')", {}, CL::kAll, 1).ok());
  // Node 3 goes down and stays down longer than the hint window, so it misses the delete.
  ASSERT_TRUE(cluster_->nodeDown(NodeId(3)).ok());
  clock_.advance(std::chrono::hours(4));
  ASSERT_TRUE(run("DELETE FROM kv WHERE k = 1", {}, CL::kQuorum, 1).ok());
  EXPECT_TRUE(cluster_->pendingHints().empty());
  EXPECT_TRUE(rows("SELECT * FROM kv WHERE k = 1", {}, CL::kQuorum, 1).empty());

  // Compaction before gc_grace keeps the tombstone.
  EXPECT_EQ(cluster_->compact(), 0);
  clock_.advance(std::chrono::hours(2));
  // After gc_grace the tombstone is purged on the replicas that had it.
  EXPECT_GE(cluster_->compact(), 2);
  ASSERT_TRUE(cluster_->nodeUp(NodeId(3)).ok());
  // The unrepaired replica still has the row, and nothing shadows it any more.
  auto r = rows("SELECT v FROM kv WHERE k = 1", {}, CL::kAll, 1);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0][0], Value::text("zombie"));
  EXPECT_EQ(holders("kv", {Value::integer(1)}).size(), 3u);  // read repair spread it back
}

TEST_F(ClusterTest, TombstoneSurvivesWhenTheReplicaIsRepairedWithinGcGrace) {
  start();
  ASSERT_TRUE(run("CREATE TABLE kv (k int PRIMARY KEY, v text) WITH gc_grace_seconds = 3600").ok());
  ASSERT_TRUE(run("INSERT INTO kv (k, v) VALUES (1, 'gone')", {}, CL::kAll, 1).ok());
  ASSERT_TRUE(cluster_->nodeDown(NodeId(3)).ok());
  clock_.advance(std::chrono::hours(4));
  ASSERT_TRUE(run("DELETE FROM kv WHERE k = 1", {}, CL::kQuorum, 1).ok());
  ASSERT_TRUE(cluster_->nodeUp(NodeId(3)).ok());
  ASSERT_TRUE(cluster_->repair("ks").ok());
  clock_.advance(std::chrono::hours(2));
  cluster_->compact();
  EXPECT_TRUE(rows("SELECT * FROM kv WHERE k = 1", {}, CL::kAll, 1).empty());
}

TEST_F(ClusterTest, TtlExpiresCellsAndRows) {
  start();
  ASSERT_TRUE(run("CREATE TABLE sessions (id text PRIMARY KEY, user text)").ok());
  ASSERT_TRUE(run("INSERT INTO sessions (id, user) VALUES ('s1', 'ann') USING TTL 60", {}, CL::kQuorum).ok());
  EXPECT_EQ(rows("SELECT user FROM sessions WHERE id = 's1'", {}, CL::kQuorum).size(), 1u);
  clock_.advance(std::chrono::seconds(61));
  EXPECT_TRUE(rows("SELECT user FROM sessions WHERE id = 's1'", {}, CL::kQuorum).empty());
}

// ---------------------------------------------------------------- topology

TEST_F(ClusterTest, NodesJoinedWithoutStreamingServeEmptyRowsWithoutAnError) {
  start();
  ASSERT_TRUE(run("CREATE TABLE accounts (id int PRIMARY KEY, address text)").ok());
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(run("INSERT INTO accounts (id, address) VALUES (?, 'addr')", {Value::integer(i)}, CL::kAll).ok());
  }
  // Three nodes join without streaming (the July 2019 scale-up).
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(cluster_->addNode("dc1", false).ok());
  int empty = 0;
  for (int i = 0; i < 100; ++i) {
    auto r = run("SELECT address FROM accounts WHERE id = ?", {Value::integer(i)}, CL::kQuorum, 4 + i % 3);
    ASSERT_TRUE(r.ok()) << r.status().toString();  // no error...
    empty += r->rows.empty();                        // ...just missing rows
  }
  EXPECT_GT(empty, 0);
}

TEST_F(ClusterTest, RebuildStreamsToJoinedNodesWhatTheyNowOwn) {
  start();
  ASSERT_TRUE(run("CREATE TABLE accounts (id int PRIMARY KEY, address text)").ok());
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(run("INSERT INTO accounts (id, address) VALUES (?, 'addr')", {Value::integer(i)}, CL::kAll).ok());
  }
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(cluster_->addNode("dc1", false).ok());
  int64_t streamed = 0;
  for (int n = 1; n <= 6; ++n) {
    auto r = cluster_->rebuild(NodeId(n));
    ASSERT_TRUE(r.ok()) << r.status().toString();
    streamed += *r;
  }
  EXPECT_GT(streamed, 0);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(rows("SELECT address FROM accounts WHERE id = ?", {Value::integer(i)}, CL::kQuorum, 4 + i % 3).size(), 1u);
  }
  EXPECT_FALSE(cluster_->rebuild(NodeId(9)).ok());
}

TEST_F(ClusterTest, NodesJoinedWithStreamingServeEveryRow) {
  start();
  ASSERT_TRUE(run("CREATE TABLE accounts (id int PRIMARY KEY, address text)").ok());
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(run("INSERT INTO accounts (id, address) VALUES (?, 'addr')", {Value::integer(i)}, CL::kAll).ok());
  }
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(cluster_->addNode("dc1", true).ok());
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(rows("SELECT address FROM accounts WHERE id = ?", {Value::integer(i)}, CL::kQuorum, 4 + i % 3).size(), 1u);
  }
}

TEST_F(ClusterTest, NetworkTopologyStrategyPlacesReplicasPerDatacenter) {
  ClusterOptions o;
  o.node_datacenters = {"eu", "eu", "eu", "us", "us", "us"};
  start(o);
  ASSERT_TRUE(run("CREATE KEYSPACE multi WITH replication = {'class': 'NetworkTopologyStrategy', 'eu': 2, 'us': 1}").ok());
  ASSERT_TRUE(run("CREATE TABLE multi.kv (k int PRIMARY KEY, v text)").ok());
  auto t = cluster_->table("multi", "kv");
  for (int k = 0; k < 20; ++k) {
    auto reps = cluster_->replicasFor(*t, {Value::integer(k)});
    ASSERT_TRUE(reps.ok());
    ASSERT_EQ(reps->size(), 3u);
    int eu = 0;
    for (NodeId id : *reps) eu += id.value() <= 3;
    EXPECT_EQ(eu, 2);
  }
  // LOCAL_QUORUM in eu survives the whole us datacenter going down; EACH_QUORUM does not.
  for (int n = 4; n <= 6; ++n) ASSERT_TRUE(cluster_->nodeDown(NodeId(n)).ok());
  EXPECT_TRUE(run("INSERT INTO multi.kv (k, v) VALUES (1, 'x')", {}, CL::kLocalQuorum, 1).ok());
  EXPECT_EQ(storeErrorOf(run("INSERT INTO multi.kv (k, v) VALUES (1, 'x')", {}, CL::kEachQuorum, 1).status()),
            StoreError::kUnavailable);
  EXPECT_EQ(storeErrorOf(run("CREATE KEYSPACE bad WITH replication = {'class': 'NetworkTopologyStrategy', 'mars': 1}").status()),
            StoreError::kConfigurationError);
}

// ---------------------------------------------------------------- operations

TEST_F(ClusterTest, ClusteringRangeReadsHonourOrderAndLimit) {
  start();
  ASSERT_TRUE(run("CREATE TABLE entries (account text, day int, seq int, amount bigint, "
                  "PRIMARY KEY ((account), day, seq)) WITH CLUSTERING ORDER BY (day DESC, seq ASC)")
                  .ok());
  for (int day = 1; day <= 5; ++day) {
    for (int seq = 1; seq <= 3; ++seq) {
      ASSERT_TRUE(run("INSERT INTO entries (account, day, seq, amount) VALUES ('a', ?, ?, ?)",
                      {Value::integer(day), Value::integer(seq), Value::integer(day * 10 + seq)}, CL::kQuorum)
                      .ok());
    }
  }
  auto all = rows("SELECT day, seq FROM entries WHERE account = 'a'", {}, CL::kQuorum);
  ASSERT_EQ(all.size(), 15u);
  EXPECT_EQ(all[0][0], Value::integer(5));  // DESC on day
  EXPECT_EQ(all[0][1], Value::integer(1));  // ASC on seq
  auto range = rows("SELECT day, seq FROM entries WHERE account = 'a' AND day >= 2 AND day < 4", {}, CL::kQuorum);
  ASSERT_EQ(range.size(), 6u);
  EXPECT_EQ(range.front()[0], Value::integer(3));
  EXPECT_EQ(range.back()[0], Value::integer(2));
  auto limited = rows("SELECT amount FROM entries WHERE account = 'a' AND day = 4 AND seq > 1 LIMIT 1", {}, CL::kQuorum);
  ASSERT_EQ(limited.size(), 1u);
  EXPECT_EQ(limited[0][0], Value::integer(42));
  auto reversed = rows("SELECT day FROM entries WHERE account = 'a' ORDER BY day ASC LIMIT 2", {}, CL::kQuorum);
  ASSERT_EQ(reversed.size(), 2u);
  EXPECT_EQ(reversed[0][0], Value::integer(1));
  // A read answered by one replica takes a separate path; it must agree.
  const char* queries[] = {
      "SELECT day, seq FROM entries WHERE account = 'a'",
      "SELECT day, seq FROM entries WHERE account = 'a' AND day >= 2 AND day < 4",
      "SELECT amount FROM entries WHERE account = 'a' AND day = 4 AND seq > 1 LIMIT 1",
      "SELECT day, seq FROM entries WHERE account = 'a' ORDER BY day ASC LIMIT 4",
  };
  for (const char* q : queries) {
    EXPECT_EQ(rows(q, {}, CL::kOne), rows(q, {}, CL::kQuorum)) << q;
  }
}

TEST_F(ClusterTest, CompositePartitionKeysAndBatchesAtomicPerPartition) {
  start();
  ASSERT_TRUE(run("CREATE TABLE t (a text, b int, c int, v text, PRIMARY KEY ((a, b), c))").ok());
  ASSERT_TRUE(run("BEGIN BATCH "
                  "INSERT INTO t (a, b, c, v) VALUES ('x', 1, 1, 'one'); "
                  "INSERT INTO t (a, b, c, v) VALUES ('x', 1, 2, 'two'); "
                  "UPDATE t SET v = 'other' WHERE a = 'x' AND b = 2 AND c = 1; "
                  "APPLY BATCH",
                  {}, CL::kQuorum)
                  .ok());
  EXPECT_EQ(rows("SELECT * FROM t WHERE a = 'x' AND b = 1", {}, CL::kQuorum).size(), 2u);
  EXPECT_EQ(rows("SELECT v FROM t WHERE a = 'x' AND b = 2 AND c = 1", {}, CL::kQuorum)[0][0], Value::text("other"));
  // One partition's rows travel as one mutation: each replica applied it once.
  auto log = cluster_->commitLog(NodeId(1));
  EXPECT_EQ(log.size(), 2u);  // two partitions -> two commit log entries
}

TEST_F(ClusterTest, LightweightTransactionsOnClusteredRowsApplyOnceAndReportIt) {
  start();
  ASSERT_TRUE(run("CREATE TABLE balances (address text, currency text, settled bigint, "
                  "PRIMARY KEY (address, currency))").ok());
  auto first = run("INSERT INTO balances (address, currency, settled) VALUES ('a', 'GBP', 100) IF NOT EXISTS", {},
                   CL::kQuorum);
  ASSERT_TRUE(first.ok()) << first.status().toString();
  EXPECT_EQ(first->applied, std::optional<bool>(true));
  auto other = run("INSERT INTO balances (address, currency, settled) VALUES ('a', 'EUR', 7) IF NOT EXISTS", {},
                   CL::kQuorum);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->applied, std::optional<bool>(true));  // another row of the same partition
  auto cas = run("UPDATE balances SET settled = 150 WHERE address = 'a' AND currency = 'GBP' IF settled = 100", {},
                 CL::kQuorum);
  ASSERT_TRUE(cas.ok());
  EXPECT_EQ(cas->applied, std::optional<bool>(true));
  auto stale = run("UPDATE balances SET settled = 999 WHERE address = 'a' AND currency = 'GBP' IF settled = 100", {},
                   CL::kQuorum);
  ASSERT_TRUE(stale.ok());
  EXPECT_EQ(stale->applied, std::optional<bool>(false));
}

TEST_F(ClusterTest, LightweightTransactionsApplyOnlyWhenTheConditionHolds) {
  start();
  ASSERT_TRUE(run("CREATE TABLE users (name text PRIMARY KEY, email text)").ok());
  auto first = run("INSERT INTO users (name, email) VALUES ('ann', 'a@x') IF NOT EXISTS", {}, CL::kQuorum);
  ASSERT_TRUE(first.ok()) << first.status().toString();
  EXPECT_EQ(first->applied, std::optional<bool>(true));
  auto second = run("INSERT INTO users (name, email) VALUES ('ann', 'b@x') IF NOT EXISTS", {}, CL::kQuorum);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->applied, std::optional<bool>(false));
  ASSERT_EQ(second->columns.size(), 3u);
  EXPECT_EQ(second->rows[0][2], Value::text("a@x"));  // the current value comes back
  auto cas = run("UPDATE users SET email = 'c@x' WHERE name = 'ann' IF email = 'a@x'", {}, CL::kQuorum);
  ASSERT_TRUE(cas.ok());
  EXPECT_EQ(cas->applied, std::optional<bool>(true));
  EXPECT_EQ(rows("SELECT email FROM users WHERE name = 'ann'", {}, CL::kQuorum)[0][0], Value::text("c@x"));
  // Paxos needs a quorum: with two replicas down it is Unavailable at SERIAL.
  ASSERT_TRUE(cluster_->nodeDown(NodeId(2)).ok());
  ASSERT_TRUE(cluster_->nodeDown(NodeId(3)).ok());
  auto down = run("UPDATE users SET email = 'd@x' WHERE name = 'ann' IF email = 'c@x'", {}, CL::kQuorum, 1);
  EXPECT_EQ(storeErrorOf(down.status()), StoreError::kUnavailable) << down.status().toString();
  EXPECT_NE(down.status().message().find("SERIAL"), std::string::npos);
}

TEST_F(ClusterTest, LocalSerialLwtNeedsOnlyTheLocalDatacenterWhileSerialNeedsAGlobalQuorum) {
  ClusterOptions o;
  o.node_datacenters = {"eu", "eu", "eu", "us", "us", "us"};
  start(o);
  ASSERT_TRUE(run("CREATE KEYSPACE multi WITH replication = {'class': 'NetworkTopologyStrategy', 'eu': 3, 'us': 3}").ok());
  ASSERT_TRUE(run("CREATE TABLE multi.users (name text PRIMARY KEY, email text)").ok());
  for (int n = 4; n <= 6; ++n) ASSERT_TRUE(cluster_->nodeDown(NodeId(n)).ok());  // all of us
  auto lwt = [&](ConsistencyLevel serial) {
    QueryOptions q;
    q.ctx.consistency = CL::kLocalQuorum;
    q.ctx.serial_consistency = serial;
    q.ctx.coordinator = NodeId(1);
    return session_->execute("INSERT INTO multi.users (name, email) VALUES ('ann', 'a@x') IF NOT EXISTS", {}, q);
  };
  // Six replicas, three alive: a SERIAL Paxos round needs four.
  auto serial = lwt(CL::kSerial);
  ASSERT_FALSE(serial.ok());
  EXPECT_EQ(storeErrorOf(serial.status()), StoreError::kUnavailable) << serial.status().toString();
  // LOCAL_SERIAL runs Paxos among the coordinator's datacenter only.
  auto local = lwt(CL::kLocalSerial);
  ASSERT_TRUE(local.ok()) << local.status().toString();
  EXPECT_EQ(local->applied, std::optional<bool>(true));
  auto again = lwt(CL::kLocalSerial);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->applied, std::optional<bool>(false));
}

TEST_F(ClusterTest, ConcurrentCasIncrementsEndOnTheExactTotal) {
  start();
  ASSERT_TRUE(run("CREATE TABLE counters (name text PRIMARY KEY, value bigint)").ok());
  ASSERT_TRUE(run("INSERT INTO counters (name, value) VALUES ('c', 0)", {}, CL::kAll).ok());
  constexpr int kThreads = 8;
  constexpr int kIncrements = 40;
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int done = 0; done < kIncrements;) {
        QueryOptions o;
        o.keyspace = "ks";
        o.ctx.consistency = CL::kQuorum;
        o.ctx.coordinator = NodeId(1 + (t + done) % 3);
        o.ctx.client_id = "client-" + std::to_string(t);
        auto cur = session_->execute("SELECT value FROM counters WHERE name = 'c'", {}, o);
        if (!cur.ok() || cur->rows.empty()) {
          ++errors;
          return;
        }
        int64_t v = cur->rows[0][0].i;
        auto r = session_->execute("UPDATE counters SET value = ? WHERE name = 'c' IF value = ?",
                                   {Value::integer(v + 1), Value::integer(v)}, o);
        if (!r.ok()) {
          ++errors;
          return;
        }
        if (*r->applied) ++done;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  auto r = rows("SELECT value FROM counters WHERE name = 'c'", {}, CL::kSerial);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0][0], Value::integer(kThreads * kIncrements));
}

TEST_F(ClusterTest, TruncateEmptiesTheTableOnEveryNode) {
  start();
  ASSERT_TRUE(run("CREATE TABLE kv (k int PRIMARY KEY, v text)").ok());
  ASSERT_TRUE(run("INSERT INTO kv (k, v) VALUES (1, 'x')", {}, CL::kAll).ok());
  ASSERT_TRUE(run("TRUNCATE kv").ok());
  EXPECT_TRUE(holders("kv", {Value::integer(1)}).empty());
  ASSERT_TRUE(cluster_->nodeDown(NodeId(2)).ok());
  EXPECT_EQ(storeErrorOf(run("TRUNCATE kv").status()), StoreError::kUnavailable);
}

}  // namespace
}  // namespace sandbank::store::testing

namespace sandbank::store::testing {
namespace {

TEST_F(ClusterTest, PrimaryReplicaOwnsTheFirstRingTokenAtOrAfterTheKeyToken) {
  start();
  ASSERT_TRUE(run("CREATE TABLE kv (k int PRIMARY KEY, v text)").ok());
  std::vector<std::pair<int64_t, int>> ring;
  for (const NodeInfo& n : cluster_->nodes()) {
    for (int64_t t : n.tokens) ring.emplace_back(t, n.id.value());
  }
  std::sort(ring.begin(), ring.end());
  auto t = cluster_->table("ks", "kv");
  for (int k = -500; k < 500; ++k) {
    std::string bytes;
    serializeValue(ColumnType::kInt, Value::integer(k), &bytes);
    int64_t token = murmur3Token(bytes);
    auto it = std::lower_bound(ring.begin(), ring.end(), std::make_pair(token, INT32_MIN));
    int owner = it == ring.end() ? ring.front().second : it->second;
    auto reps = cluster_->replicasFor(*t, {Value::integer(k)});
    ASSERT_TRUE(reps.ok());
    ASSERT_EQ(reps->size(), 3u);
    EXPECT_EQ((*reps)[0].value(), owner) << "key " << k;
  }
}

}  // namespace
}  // namespace sandbank::store::testing
