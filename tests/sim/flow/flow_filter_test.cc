// Tests for FlowFilter: each dimension accepts what it names and rejects the rest.
#include <gtest/gtest.h>

#include "flow_test_util.h"
#include "sandbank/flow/flow_filter.h"

namespace sandbank::flow {
namespace {

using testing::makeEvent;

FlowEvent rpc() {
  FlowEvent e = makeEvent(FlowKind::kRpc, "card-processor", "ledger", "t1", 100, 200);
  e.method = "sandbank.ledger.Ledger/PostEntrySet";
  e.detail = "Idempotency-Key k-9";
  return e;
}

TEST(Glob, MatchesStarsAndQuestionMarks) {
  EXPECT_TRUE(globMatch("*Ledger/*", "sandbank.ledger.Ledger/PostEntrySet"));
  EXPECT_TRUE(globMatch("card.*", "card.authorisations"));
  EXPECT_TRUE(globMatch("ledger.entr?es", "ledger.entries"));
  EXPECT_TRUE(globMatch("*", ""));
  EXPECT_TRUE(globMatch("a*b*c", "aXXbYYbc"));
  EXPECT_FALSE(globMatch("card.*", "ledger.entrysets"));
  EXPECT_FALSE(globMatch("a*b*c", "aXXbYYb"));
  EXPECT_FALSE(globMatch("?", ""));
}

TEST(ServiceMatch, NameOrNameSlashInstance) {
  EXPECT_TRUE(serviceMatches("store", "store/node-1"));
  EXPECT_TRUE(serviceMatches("store", "store"));
  EXPECT_FALSE(serviceMatches("store", "storefront"));
  EXPECT_FALSE(serviceMatches("store/node-1", "store"));
}

TEST(FlowFilter, EmptyFilterMatchesEverything) {
  FlowFilter f;
  EXPECT_TRUE(f.matchesAll());
  EXPECT_TRUE(f.matches(rpc()));
}

TEST(FlowFilter, TraceMustBeExact) {
  FlowFilter f;
  f.trace_id = "t1";
  EXPECT_TRUE(f.matches(rpc()));
  f.trace_id = "t";
  EXPECT_FALSE(f.matches(rpc()));
}

TEST(FlowFilter, ServiceMatchesSourceOrDestination) {
  FlowFilter f;
  f.service = "ledger";
  EXPECT_TRUE(f.matches(rpc()));
  f.service = "card-processor";
  EXPECT_TRUE(f.matches(rpc()));
  f.service = "fraud";
  EXPECT_FALSE(f.matches(rpc()));
}

TEST(FlowFilter, KindsAreASet) {
  FlowFilter f;
  f.addKind(FlowKind::kPublish);
  EXPECT_FALSE(f.matches(rpc()));
  f.addKind(FlowKind::kRpc);
  EXPECT_TRUE(f.matches(rpc()));
}

TEST(FlowFilter, WhatGlobLooksAtMethodTopicAndTable) {
  FlowFilter f;
  f.what_glob = "*/PostEntrySet";
  EXPECT_TRUE(f.matches(rpc()));
  FlowEvent pub = makeEvent(FlowKind::kPublish, "card-processor", "bus", "t1", 1, 1);
  pub.topic = "card.authorisations";
  f.what_glob = "card.*";
  EXPECT_TRUE(f.matches(pub));
  EXPECT_FALSE(f.matches(rpc()));
  FlowEvent write = makeEvent(FlowKind::kReplicaWrite, "store/node-1", "store/node-2", "", 1, 1);
  write.table = "entries";
  f.what_glob = "entr*";
  EXPECT_TRUE(f.matches(write));
}

TEST(FlowFilter, StatusAndErrorsOnly) {
  FlowEvent failed = rpc();
  failed.status = "UNAVAILABLE";
  FlowFilter f;
  f.status = "UNAVAILABLE";
  EXPECT_TRUE(f.matches(failed));
  EXPECT_FALSE(f.matches(rpc()));
  FlowFilter errors;
  errors.errors_only = true;
  EXPECT_TRUE(errors.matches(failed));
  EXPECT_FALSE(errors.matches(rpc()));
  FlowEvent fault = makeEvent(FlowKind::kFault, "faults", "ledger", "", 1, 1);
  EXPECT_TRUE(errors.matches(fault));
}

TEST(FlowFilter, TextIsCaseInsensitiveOverManyFields) {
  FlowFilter f;
  f.text = "idempotency-KEY";
  EXPECT_TRUE(f.matches(rpc()));
  f.text = "postentry";
  EXPECT_TRUE(f.matches(rpc()));
  f.text = "transfer";
  EXPECT_FALSE(f.matches(rpc()));
}

TEST(FlowFilter, TimeRangeIsHalfOpenOnSimulatedStart) {
  FlowFilter f;
  f.from_sim_us = 100;
  f.to_sim_us = 101;
  EXPECT_TRUE(f.matches(rpc()));
  f.from_sim_us = 101;
  f.to_sim_us = 500;
  EXPECT_FALSE(f.matches(rpc()));
  f.from_sim_us = 0;
  f.to_sim_us = 100;
  EXPECT_FALSE(f.matches(rpc()));
}

}  // namespace
}  // namespace sandbank::flow
