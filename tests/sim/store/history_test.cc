// A randomized, seeded history checker over one register with faults (nodes down and up,
// isolation, slow nodes, hint delivery). Values only grow, so a successful read that
// returns less than the latest acknowledged write is stale. With W+R > RF no stale read
// may ever appear; with W+R <= RF stale reads must appear, or the simulation would be
// hiding the very anomaly it exists to show.
#include <iostream>
#include <random>

#include "store_fixture.h"

namespace sandbank::store::testing {
namespace {

struct HistoryResult {
  int writes_acked = 0;
  int reads_ok = 0;
  int stale_reads = 0;
  int errors = 0;
};

class HistoryTest : public StoreFixture {
 protected:
  HistoryResult runHistory(uint64_t seed, ConsistencyLevel w, ConsistencyLevel r, int steps) {
    ClusterOptions o;
    o.node_datacenters = {"dc1", "dc1", "dc1", "dc1", "dc1"};
    start(o, 3);
    EXPECT_TRUE(run("CREATE TABLE reg (k int PRIMARY KEY, v bigint)").ok());
    std::mt19937_64 rng(seed);
    HistoryResult h;
    int64_t next_value = 1;
    int64_t last_acked = 0;
    auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); };
    for (int step = 0; step < steps; ++step) {
      clock_.advance(std::chrono::milliseconds(10));
      int action = pick(100);
      NodeId node(1 + pick(5));
      if (action < 2) {
        (void)cluster_->nodeDown(node);
      } else if (action < 12) {
        (void)cluster_->nodeUp(node);
      } else if (action < 14) {
        (void)cluster_->setIsolated(node, true);
      } else if (action < 24) {
        (void)cluster_->setIsolated(node, false);
      } else if (action < 25) {
        (void)cluster_->setSlow(node, std::chrono::seconds(3));
      } else if (action < 28) {
        (void)cluster_->setSlow(node, std::chrono::seconds(0));
      } else if (action < 30) {
        cluster_->deliverHints();
      } else if (action < 60) {
        int64_t v = next_value++;
        auto res = run("UPDATE reg SET v = ? WHERE k = 1", {Value::integer(v)}, w, 1 + pick(5), "writer");
        if (res.ok()) {
          ++h.writes_acked;
          last_acked = v;
        } else {
          ++h.errors;
        }
      } else {
        auto res = run("SELECT v FROM reg WHERE k = 1", {}, r, 1 + pick(5), "reader");
        if (!res.ok()) {
          ++h.errors;
          continue;
        }
        ++h.reads_ok;
        int64_t seen = res->rows.empty() ? 0 : res->rows[0][0].i;
        if (seen < last_acked) ++h.stale_reads;
      }
    }
    std::cout << "history seed=" << seed << " W=" << consistencyName(w) << " R=" << consistencyName(r)
              << " writes_acked=" << h.writes_acked << " reads_ok=" << h.reads_ok << " stale=" << h.stale_reads
              << " errors=" << h.errors << "\n";
    return h;
  }
};

TEST_F(HistoryTest, QuorumWritesAndQuorumReadsNeverReadStale) {
  for (uint64_t seed : {1u, 2u, 3u}) {
    HistoryResult h = runHistory(seed, ConsistencyLevel::kQuorum, ConsistencyLevel::kQuorum, 4000);
    EXPECT_EQ(h.stale_reads, 0) << "seed " << seed;
    EXPECT_GT(h.writes_acked, 50) << "seed " << seed;  // the history did exercise the store
    EXPECT_GT(h.reads_ok, 50) << "seed " << seed;
  }
}

TEST_F(HistoryTest, AllWritesAndOneReadsNeverReadStale) {
  HistoryResult h = runHistory(7, ConsistencyLevel::kAll, ConsistencyLevel::kOne, 4000);
  EXPECT_EQ(h.stale_reads, 0);
  EXPECT_GT(h.writes_acked, 20);
  EXPECT_GT(h.reads_ok, 50);
}

TEST_F(HistoryTest, OneWritesAndOneReadsDoReadStaleUnderFaults) {
  HistoryResult h = runHistory(1, ConsistencyLevel::kOne, ConsistencyLevel::kOne, 4000);
  EXPECT_GT(h.stale_reads, 0);
  EXPECT_GT(h.reads_ok, 50);
}

TEST_F(HistoryTest, QuorumWritesAndOneReadsDoReadStaleUnderFaults) {
  HistoryResult h = runHistory(2, ConsistencyLevel::kQuorum, ConsistencyLevel::kOne, 4000);
  EXPECT_GT(h.stale_reads, 0);
}

}  // namespace
}  // namespace sandbank::store::testing
