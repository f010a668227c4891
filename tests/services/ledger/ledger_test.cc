// The ledger over real gRPC, with the store and bus in-process: zero-sum rejection,
// idempotent retries, per-account serialisation, holds, the empty-address refusal, the
// cache against a recomputation, and what lands on ledger.entrysets.
#include <gtest/gtest.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "../bankcore/bank_test_env.h"
#include "sandbank/bank/ledger.grpc.pb.h"
#include "sandbank/bankcore/money.h"
#include "sandbank/invariants/ledger_checker.h"
#include "sandbank/ledger/ledger.h"
#include "sandbank/ledger/ledger_service.h"

namespace sandbank::ledger {
namespace {

using Pair = std::pair<int64_t, int64_t>;
// (settled, available) in GBP.
Pair sb(int64_t settled, int64_t available) { return {settled, available}; }

class LedgerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_.start();
    ASSERT_FALSE(HasFatalFailure());
    auto ledger = Ledger::open(*env_.store_, env_.producer_.get(), env_.clock_);
    ASSERT_TRUE(ledger.ok()) << ledger.status().toString();
    ledger_ = std::move(ledger).value();
    service_ = makeLedgerGrpcService(*ledger_);
    server_ = bank::testing::BankTestEnv::serve(service_.get(), &address_);
    ASSERT_NE(server_, nullptr);
    stub_ = pb::Ledger::NewStub(grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
    env_.stop();
  }

  static pb::Entry entry(const std::string& address, int64_t amount, const std::string& currency = "GBP") {
    pb::Entry e;
    e.set_address(address);
    e.mutable_amount()->set_minor_units(amount);
    e.mutable_amount()->set_currency(currency);
    return e;
  }

  // Moves `amount` from `from` to `to` under `key`.
  grpc::Status transfer(const std::string& key, const std::string& from, const std::string& to, int64_t amount,
                        pb::PostEntrySetResponse* out, std::optional<int64_t> floor_of_from = std::nullopt) {
    pb::PostEntrySetRequest req;
    req.set_idempotency_key(key);
    *req.add_entries() = entry(from, -amount);
    *req.add_entries() = entry(to, amount);
    if (floor_of_from) {
      auto* f = req.add_floors();
      f->set_address(from);
      f->set_currency("GBP");
      f->set_minimum_minor_units(*floor_of_from);
    }
    grpc::ClientContext ctx;
    return stub_->PostEntrySet(&ctx, req, out);
  }

  grpc::Status balance(const std::string& address, pb::Balance* out, bool verify = false) {
    pb::GetBalanceRequest req;
    req.set_address(address);
    req.set_verify(verify);
    grpc::ClientContext ctx;
    return stub_->GetBalance(&ctx, req, out);
  }

  // Settled and available in GBP, asserting the call succeeds.
  std::pair<int64_t, int64_t> gbp(const std::string& address) {
    pb::Balance b;
    grpc::Status s = balance(address, &b, /*verify=*/true);
    EXPECT_TRUE(s.ok()) << s.error_message();
    for (const auto& c : b.currencies()) {
      if (c.currency() == "GBP") return {c.settled_minor_units(), c.available_minor_units()};
    }
    ADD_FAILURE() << "no GBP balance at " << address;
    return {0, 0};
  }

  bank::testing::BankTestEnv env_;
  std::unique_ptr<Ledger> ledger_;
  std::unique_ptr<grpc::Service> service_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
  std::unique_ptr<pb::Ledger::Stub> stub_;
};

TEST_F(LedgerTest, UnbalancedEntrySetIsRejectedWithTheCurrencyAndItsSum) {
  pb::PostEntrySetRequest req;
  req.set_idempotency_key("k-unbalanced");
  *req.add_entries() = entry("account:alice:main", -1000);
  *req.add_entries() = entry("account:bob:main", 1250);
  *req.add_entries() = entry("pot:p1", 5, "EUR");
  *req.add_entries() = entry("pot:p2", -5, "EUR");
  grpc::ClientContext ctx;
  pb::PostEntrySetResponse resp;
  grpc::Status s = stub_->PostEntrySet(&ctx, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("do not balance in GBP"), std::string::npos) << s.error_message();
  EXPECT_NE(s.error_message().find("250"), std::string::npos) << s.error_message();
  // Nothing was written: bob's address is still unknown to the ledger.
  pb::Balance b;
  ASSERT_TRUE(balance("account:bob:main", &b).ok());
  EXPECT_FALSE(b.known());
  // The key was not consumed by the rejected request.
  pb::PostEntrySetResponse ok;
  ASSERT_TRUE(transfer("k-unbalanced", "account:alice:main", "account:bob:main", 1000, &ok).ok());
  EXPECT_FALSE(ok.replayed());
}

TEST_F(LedgerTest, BadRequestsGetInvalidArgumentWithAReason) {
  pb::PostEntrySetResponse resp;
  grpc::Status no_key = transfer("", "account:a:main", "account:b:main", 10, &resp);
  EXPECT_EQ(no_key.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(no_key.error_message().find("idempotency_key"), std::string::npos);
  grpc::Status bad_address = transfer("k1", "wallet:a", "account:b:main", 10, &resp);
  EXPECT_EQ(bad_address.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(bad_address.error_message().find("wallet:a"), std::string::npos) << bad_address.error_message();
  pb::PostEntrySetRequest one_leg;
  one_leg.set_idempotency_key("k2");
  *one_leg.add_entries() = entry("account:a:main", 0);
  grpc::ClientContext ctx;
  grpc::Status s = stub_->PostEntrySet(&ctx, one_leg, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("at least two entries"), std::string::npos) << s.error_message();
}

TEST_F(LedgerTest, RetryWithTheSameKeyReturnsTheOriginalResultAndPostsOnce) {
  pb::PostEntrySetResponse first, retry;
  ASSERT_TRUE(transfer("pay-1", "scheme:fps:suspense", "account:alice:main", 500, &first).ok());
  EXPECT_FALSE(first.replayed());
  env_.clock_.advance(std::chrono::seconds(3));
  ASSERT_TRUE(transfer("pay-1", "scheme:fps:suspense", "account:alice:main", 500, &retry).ok());
  EXPECT_TRUE(retry.replayed());
  EXPECT_EQ(retry.entryset().entryset_id(), first.entryset().entryset_id());
  EXPECT_EQ(retry.entryset().posted_at_us(), first.entryset().posted_at_us());
  EXPECT_EQ(gbp("account:alice:main").first, 500);

  pb::ListEntriesRequest lreq;
  lreq.set_address("account:alice:main");
  pb::ListEntriesResponse entries;
  grpc::ClientContext ctx;
  ASSERT_TRUE(stub_->ListEntries(&ctx, lreq, &entries).ok());
  ASSERT_EQ(entries.entries_size(), 1);
  EXPECT_EQ(entries.entries(0).entryset_id(), first.entryset().entryset_id());

  // The same key for a different request is refused, and posts nothing.
  pb::PostEntrySetResponse other;
  grpc::Status reused = transfer("pay-1", "scheme:fps:suspense", "account:alice:main", 900, &other);
  EXPECT_EQ(reused.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(reused.error_message().find("different request"), std::string::npos) << reused.error_message();
  EXPECT_EQ(gbp("account:alice:main").first, 500);
  // One record on the topic, keyed by the account.
  auto records = env_.records("ledger.entrysets");
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].record->key.value_or(""), "alice");
  pb::EntrySetPosted posted;
  ASSERT_TRUE(posted.ParseFromString(records[0].record->value));
  EXPECT_EQ(posted.entryset().entryset_id(), first.entryset().entryset_id());
  EXPECT_EQ(posted.account_id(), "alice");
}

TEST_F(LedgerTest, EveryAccountInAnEntrySetGetsARecordKeyedByItsId) {
  pb::PostEntrySetResponse r;
  ASSERT_TRUE(transfer("fund", "scheme:fps:suspense", "account:alice:main", 1000, &r).ok());
  ASSERT_TRUE(transfer("p2p-1", "account:alice:main", "account:bob:main", 400, &r).ok());
  auto records = env_.records("ledger.entrysets");
  std::multiset<std::string> keys;
  for (const auto& d : records) keys.insert(d.record->key.value_or(""));
  EXPECT_EQ(keys, (std::multiset<std::string>{"alice", "alice", "bob"}));
}

TEST_F(LedgerTest, RejectedPostingStaysRejectedOnRetry) {
  pb::PostEntrySetResponse r;
  ASSERT_TRUE(transfer("fund", "scheme:fps:suspense", "account:alice:main", 100, &r).ok());
  grpc::Status refused = transfer("spend", "account:alice:main", "account:bob:main", 250, &r, /*floor=*/-100);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(refused.error_message().find("insufficient funds"), std::string::npos) << refused.error_message();
  // Money arrives, but a retry of the same key still gets the original answer.
  ASSERT_TRUE(transfer("fund-2", "scheme:fps:suspense", "account:alice:main", 500, &r).ok());
  grpc::Status again = transfer("spend", "account:alice:main", "account:bob:main", 250, &r, /*floor=*/-100);
  EXPECT_EQ(again.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(gbp("account:alice:main").first, 600);
  // Within the overdraft it goes through.
  ASSERT_TRUE(transfer("spend-2", "account:alice:main", "account:bob:main", 650, &r, /*floor=*/-100).ok());
  EXPECT_EQ(gbp("account:alice:main").first, -50);
}

TEST_F(LedgerTest, ConcurrentPostingsOnOneAccountSerialiseToAnExactBalance) {
  constexpr int kThreads = 6;
  constexpr int kPerThread = 15;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        pb::PostEntrySetResponse r;
        // Alternate the counterparty so postings overlap on alice only.
        std::string other = (i % 2 == 0) ? "scheme:fps:suspense" : "account:bob" + std::to_string(t) + ":main";
        grpc::Status s = transfer("c-" + std::to_string(t) + "-" + std::to_string(i), other, "account:alice:main",
                                  t * 100 + i + 1, &r);
        if (!s.ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_EQ(failures.load(), 0);
  int64_t expected = 0;
  for (int t = 0; t < kThreads; ++t)
    for (int i = 0; i < kPerThread; ++i) expected += t * 100 + i + 1;
  pb::Balance b;
  ASSERT_TRUE(balance("account:alice:main", &b, /*verify=*/true).ok());
  ASSERT_EQ(b.currencies_size(), 1);
  EXPECT_EQ(b.currencies(0).settled_minor_units(), expected);
  EXPECT_EQ(b.entry_count(), kThreads * kPerThread);
}

TEST_F(LedgerTest, TwoCallsRacingWithOneKeyInOneProcessPostItOnce) {
  // Two callers (a customer's retry and a sweeper, say) post the same key at the same
  // moment, key after key. Whatever interleaving each pair gets, each key moves money
  // once and the cache stays equal to the entries.
  constexpr int kKeys = 60;
  int ok = 0, busy = 0;
  std::mutex mu;
  for (int k = 0; k < kKeys; ++k) {
    pb::PostEntrySetRequest req;
    req.set_idempotency_key("race-" + std::to_string(k));
    *req.add_entries() = entry("scheme:fps:suspense", -10);
    *req.add_entries() = entry("account:alice:main", 10);
    auto once = [&] {
      auto r = ledger_->post(req);
      std::lock_guard lock(mu);
      if (r.ok()) ++ok;
      else if (r.status().code() == StatusCode::kUnavailable) ++busy;
      else ADD_FAILURE() << r.status().toString();
    };
    std::thread a(once), b(once);
    a.join();
    b.join();
  }
  EXPECT_EQ(ok + busy, 2 * kKeys);
  EXPECT_GE(ok, kKeys);
  auto b = ledger_->balance("account:alice:main", /*verify=*/true);
  ASSERT_TRUE(b.ok()) << b.status().toString();
  EXPECT_EQ(b->currencies(0).settled_minor_units(), 10 * kKeys);
  EXPECT_EQ(b->entry_count(), kKeys);
  auto suspense = ledger_->balance("scheme:fps:suspense", /*verify=*/true);
  ASSERT_TRUE(suspense.ok()) << suspense.status().toString();
  EXPECT_EQ(suspense->currencies(0).settled_minor_units(), -10 * kKeys);
}

TEST_F(LedgerTest, HoldsLowerAvailableAndSettleAtTheClearedAmountExactlyOnce) {
  pb::PostEntrySetResponse r;
  ASSERT_TRUE(transfer("fund", "scheme:fps:suspense", "account:alice:main", 1000, &r).ok());

  pb::CreateHoldRequest hreq;
  hreq.set_idempotency_key("auth-1");
  hreq.set_address("account:alice:main");
  hreq.mutable_amount()->set_minor_units(300);
  hreq.mutable_amount()->set_currency("GBP");
  hreq.set_has_floor(true);
  hreq.set_minimum_available_minor_units(0);
  pb::Hold hold;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->CreateHold(&ctx, hreq, &hold).ok());
  }
  EXPECT_EQ(hold.state(), pb::HOLD_ACTIVE);
  EXPECT_EQ(gbp("account:alice:main"), sb(1000, 700));
  {  // a retransmitted authorisation gets the same hold and holds nothing more
    pb::Hold again;
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->CreateHold(&ctx, hreq, &again).ok());
    EXPECT_TRUE(again.replayed());
    EXPECT_EQ(again.hold_id(), hold.hold_id());
    EXPECT_EQ(gbp("account:alice:main").second, 700);
  }
  {  // more than available is refused
    pb::CreateHoldRequest big = hreq;
    big.set_idempotency_key("auth-2");
    big.mutable_amount()->set_minor_units(701);
    pb::Hold h;
    grpc::ClientContext ctx;
    grpc::Status s = stub_->CreateHold(&ctx, big, &h);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
    EXPECT_NE(s.error_message().find("insufficient funds"), std::string::npos) << s.error_message();
  }
  // Clearing presents 320 (more than authorised): the hold ends, 320 settles.
  pb::SettleHoldRequest sreq;
  sreq.set_idempotency_key("clear-1");
  sreq.set_hold_id(hold.hold_id());
  *sreq.add_entries() = entry("account:alice:main", -320);
  *sreq.add_entries() = entry("scheme:mastercard:pending", 320);
  pb::SettleHoldResponse settled;
  {
    grpc::ClientContext ctx;
    grpc::Status s = stub_->SettleHold(&ctx, sreq, &settled);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  EXPECT_EQ(settled.hold().state(), pb::HOLD_SETTLED);
  EXPECT_EQ(settled.hold().settle_entryset_id(), settled.entryset().entryset_id());
  EXPECT_EQ(gbp("account:alice:main"), sb(680, 680));
  {  // a retransmitted clearing returns the same EntrySet and moves nothing
    pb::SettleHoldResponse again;
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->SettleHold(&ctx, sreq, &again).ok());
    EXPECT_TRUE(again.replayed());
    EXPECT_EQ(again.entryset().entryset_id(), settled.entryset().entryset_id());
    EXPECT_EQ(gbp("account:alice:main"), sb(680, 680));
  }
  {  // a reversal after clearing is refused: a hold ends once
    pb::ReleaseHoldRequest rel;
    rel.set_idempotency_key("reverse-1");
    rel.set_hold_id(hold.hold_id());
    pb::Hold h;
    grpc::ClientContext ctx;
    grpc::Status s = stub_->ReleaseHold(&ctx, rel, &h);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
    EXPECT_NE(s.error_message().find("already ended (settled"), std::string::npos) << s.error_message();
    EXPECT_EQ(gbp("account:alice:main"), sb(680, 680));
  }
}

TEST_F(LedgerTest, ReleasingOrExpiringAHoldRestoresAvailableOnce) {
  pb::PostEntrySetResponse r;
  ASSERT_TRUE(transfer("fund", "scheme:fps:suspense", "account:alice:main", 1000, &r).ok());
  std::vector<pb::Hold> holds;
  for (const char* key : {"a1", "a2"}) {
    pb::CreateHoldRequest hreq;
    hreq.set_idempotency_key(key);
    hreq.set_address("account:alice:main");
    hreq.mutable_amount()->set_minor_units(200);
    hreq.mutable_amount()->set_currency("GBP");
    pb::Hold h;
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->CreateHold(&ctx, hreq, &h).ok());
    holds.push_back(h);
  }
  EXPECT_EQ(gbp("account:alice:main").second, 600);
  pb::ReleaseHoldRequest rel;
  rel.set_idempotency_key("rev-a1");
  rel.set_hold_id(holds[0].hold_id());
  pb::Hold released;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->ReleaseHold(&ctx, rel, &released).ok());
  }
  EXPECT_EQ(released.state(), pb::HOLD_RELEASED);
  {  // the same reversal again is answered, not applied twice
    pb::Hold again;
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->ReleaseHold(&ctx, rel, &again).ok());
    EXPECT_TRUE(again.replayed());
  }
  EXPECT_EQ(gbp("account:alice:main").second, 800);
  pb::ReleaseHoldRequest expire;
  expire.set_idempotency_key("expire-a2");
  expire.set_hold_id(holds[1].hold_id());
  expire.set_expired(true);
  pb::Hold expired;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->ReleaseHold(&ctx, expire, &expired).ok());
  }
  EXPECT_EQ(expired.state(), pb::HOLD_EXPIRED);
  EXPECT_EQ(gbp("account:alice:main"), sb(1000, 1000));
  pb::ListHoldsRequest lreq;
  lreq.set_address("account:alice:main");
  lreq.set_active_only(true);
  pb::ListHoldsResponse active;
  grpc::ClientContext ctx;
  ASSERT_TRUE(stub_->ListHolds(&ctx, lreq, &active).ok());
  EXPECT_EQ(active.holds_size(), 0);
}

TEST_F(LedgerTest, KnownAddressThatReadsBackEmptyIsRefusedNotReportedAsZero) {
  pb::PostEntrySetResponse r;
  ASSERT_TRUE(transfer("fund", "scheme:fps:suspense", "account:alice:main", 1000, &r).ok());
  // A replica that joined without streaming answers with nothing: model the empty read
  // by removing the cached balance rows under the ledger's feet.
  ASSERT_TRUE(env_.tamper("DELETE FROM ledger.balances WHERE address = 'account:alice:main'").ok());
  pb::Balance b;
  grpc::Status s = balance("account:alice:main", &b);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(s.error_message().find("refusing to report 0"), std::string::npos) << s.error_message();
  // A second ledger process (no memory of its own) still refuses: the address directory
  // says the address was posted to.
  auto fresh = Ledger::open(*env_.store_, nullptr, env_.clock_);
  ASSERT_TRUE(fresh.ok());
  auto other = (*fresh)->balance("account:alice:main", false);
  EXPECT_EQ(other.status().code(), StatusCode::kFailedPrecondition);
  // An address nobody ever posted to is reported as unknown and zero, which is true.
  auto never = (*fresh)->balance("account:carol:main", false);
  ASSERT_TRUE(never.ok());
  EXPECT_FALSE(never->known());
  EXPECT_EQ(never->currencies_size(), 0);
}

TEST_F(LedgerTest, NodesJoiningWithoutStreamingNeverMakeABalanceReadAsZero) {
  // July 2019: nodes join without streaming, own token ranges and answer quorum reads
  // with nothing. Every answer must be the true balance or a refusal, never 0.
  //
  // Which two replicas a LOCAL_QUORUM read consults depends on its coordinator (itself
  // first, then ring order), and a read that meets one full and one empty copy repairs the
  // empty one. Under the client's round robin the coordinator rotates per server thread,
  // so whether a given read was hidden was luck. Each process is therefore pinned to one
  // coordinator, and the postings are checked against reads first proved hidden.
  constexpr int kAccounts = 40;
  LedgerOptions at_node1;
  at_node1.coordinator = 1;
  auto poster = Ledger::open(*env_.store_, nullptr, env_.clock_, at_node1);  // posts, then remembers in process
  ASSERT_TRUE(poster.ok());
  for (int i = 0; i < kAccounts; ++i) {
    pb::PostEntrySetRequest req;
    req.set_idempotency_key("fund-" + std::to_string(i));
    *req.add_entries() = entry("scheme:fps:suspense", -(100 + i));
    *req.add_entries() = entry("account:c" + std::to_string(i) + ":main", 100 + i);
    ASSERT_TRUE((*poster)->post(req).ok());
  }
  auto joined = env_.cluster_->addNode("dc1", /*stream=*/false);
  ASSERT_TRUE(joined.ok());
  ASSERT_TRUE(env_.cluster_->addNode("dc1", /*stream=*/false).ok());
  LedgerOptions at_joined;
  at_joined.coordinator = joined->value();
  auto fresh = Ledger::open(*env_.store_, nullptr, env_.clock_, at_joined);  // a restarted ledger: no memory
  ASSERT_TRUE(fresh.ok());
  int refused = 0, refused_fresh = 0;
  for (int i = 0; i < kAccounts; ++i) {
    const std::string address = "account:c" + std::to_string(i) + ":main";
    for (Ledger* l : {poster->get(), fresh->get()}) {
      auto b = l->balance(address, /*verify=*/true);
      if (!b.ok()) {
        EXPECT_EQ(b.status().code(), StatusCode::kFailedPrecondition) << b.status().toString();
        ++(l == poster->get() ? refused : refused_fresh);
        continue;
      }
      ASSERT_EQ(b->currencies_size(), 1) << address << " read as known=" << b->known();
      EXPECT_EQ(b->currencies(0).settled_minor_units(), 100 + i) << address;
    }
  }
  // The fault really hid data, from both processes.
  EXPECT_GT(refused, 0);
  EXPECT_GT(refused_fresh, 0);

  // Prove which balances the restarted ledger cannot see now (the reads above repaired
  // some): the read it makes, LOCAL_QUORUM through its coordinator, comes back empty while
  // some replica holds the row. An empty read repairs nothing, so its own read will be
  // empty too.
  kit::StoreCall as_fresh;
  as_fresh.consistency = "LOCAL_QUORUM";
  as_fresh.coordinator = joined->value();
  std::vector<bool> hidden(kAccounts);
  int hidden_count = 0;
  for (int i = 0; i < kAccounts; ++i) {
    const std::string address = "account:c" + std::to_string(i) + ":main";
    auto probe = env_.store_->execute("SELECT settled FROM ledger.balances WHERE address = ? AND currency = 'GBP'",
                                      {kit::StoreValue::text(address)}, as_fresh);
    ASSERT_TRUE(probe.ok()) << probe.status().toString();
    auto views = env_.cluster_->inspectPartition("ledger", "balances", {store::Value::text(address)});
    ASSERT_TRUE(views.ok()) << views.status().toString();
    int holders = 0;
    for (const store::ReplicaView& v : *views) holders += v.data.rows.empty() ? 0 : 1;
    ASSERT_GT(holders, 0) << address << ": the fault hides data, it must not lose it";
    hidden[i] = probe->rows.empty();
    hidden_count += hidden[i] ? 1 : 0;
  }
  ASSERT_GT(hidden_count, 0) << "the joined nodes must hide some balance from the restarted ledger's reads";

  // A posting must not write a fresh balance over a hidden one: where the read is hidden
  // it is refused; elsewhere it goes through (or is refused), and what went through is
  // counted exactly once after the repair.
  std::vector<int64_t> expected(kAccounts);
  for (int i = 0; i < kAccounts; ++i) {
    expected[i] = 100 + i;
    pb::PostEntrySetRequest req;
    req.set_idempotency_key("after-join-" + std::to_string(i));
    *req.add_entries() = entry("scheme:fps:suspense", -1);
    *req.add_entries() = entry("account:c" + std::to_string(i) + ":main", 1);
    auto r = (*fresh)->post(req);
    if (r.ok()) {
      EXPECT_FALSE(hidden[i]) << "posted to account c" << i << " over a balance its read could not see";
      expected[i] += 1;
    } else {
      EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition) << r.status().toString();
    }
  }
  // After a repair every balance reads back again, from both.
  ASSERT_TRUE(env_.cluster_->repair().ok());
  for (int i = 0; i < kAccounts; ++i) {
    for (Ledger* l : {poster->get(), fresh->get()}) {
      auto b = l->balance("account:c" + std::to_string(i) + ":main", /*verify=*/true);
      ASSERT_TRUE(b.ok()) << b.status().toString();
      EXPECT_EQ(b->currencies(0).settled_minor_units(), expected[i]) << i;
    }
  }
}

TEST_F(LedgerTest, RetryFinishesAPostingThatStoppedPartWay) {
  pb::PostEntrySetResponse r;
  ASSERT_TRUE(transfer("fund", "scheme:fps:suspense", "account:alice:main", 1000, &r).ok());
  // The first attempt claimed its key and wrote alice's leg, then its process died.
  std::vector<bank::Leg> legs = {{"account:alice:main", -400, "GBP"}, {"account:bob:main", 400, "GBP"}};
  ASSERT_TRUE(env_.tamper("INSERT INTO ledger.idempotency (idempotency_key, kind, result_id, fingerprint, state) "
                          "VALUES ('p2p-crash', 'entryset', 'es_crashed', 'post\n" +
                          bank::encodeLegs(legs) + "floors\n', 'pending')")
                  .ok());
  ASSERT_TRUE(env_.tamper("INSERT INTO ledger.entries (address, entryset_id, leg, amount, currency) VALUES "
                          "('account:alice:main', 'es_crashed', 0, -400, 'GBP')")
                  .ok());
  auto midway = invariants::checkLedger(*env_.store_);
  ASSERT_TRUE(midway.ok());
  EXPECT_FALSE(midway->clean()) << "the half-written posting should show";

  ASSERT_TRUE(transfer("p2p-crash", "account:alice:main", "account:bob:main", 400, &r).ok());
  EXPECT_EQ(r.entryset().entryset_id(), "es_crashed");
  EXPECT_EQ(gbp("account:alice:main").first, 600);
  EXPECT_EQ(gbp("account:bob:main").first, 400);
  // Once finished, a retry is an ordinary replay.
  ASSERT_TRUE(transfer("p2p-crash", "account:alice:main", "account:bob:main", 400, &r).ok());
  EXPECT_TRUE(r.replayed());
  EXPECT_EQ(gbp("account:alice:main").first, 600);
  auto after = invariants::checkLedger(*env_.store_);
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->clean()) << after->toText();
}

TEST_F(LedgerTest, RetriesFinishHoldsThatStoppedPartWay) {
  pb::PostEntrySetResponse r;
  ASSERT_TRUE(transfer("fund", "scheme:fps:suspense", "account:alice:main", 1000, &r).ok());
  // 1. An authorisation wrote its hold row, then died before the index and the cache.
  ASSERT_TRUE(env_.tamper("INSERT INTO ledger.idempotency (idempotency_key, kind, result_id, fingerprint, state) "
                          "VALUES ('auth-crash', 'hold', 'hold_crashed', 'hold\naccount:alice:main GBP 250 -', "
                          "'pending')")
                  .ok());
  ASSERT_TRUE(env_.tamper("INSERT INTO ledger.holds (hold_id, idempotency_key, address, amount, currency, state) "
                          "VALUES ('hold_crashed', 'auth-crash', 'account:alice:main', 250, 'GBP', 'active')")
                  .ok());
  pb::CreateHoldRequest hreq;
  hreq.set_idempotency_key("auth-crash");
  hreq.set_address("account:alice:main");
  hreq.mutable_amount()->set_minor_units(250);
  hreq.mutable_amount()->set_currency("GBP");
  pb::Hold hold;
  {
    grpc::ClientContext ctx;
    grpc::Status s = stub_->CreateHold(&ctx, hreq, &hold);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  EXPECT_EQ(hold.hold_id(), "hold_crashed");
  EXPECT_EQ(gbp("account:alice:main"), sb(1000, 750));
  auto mid = invariants::checkLedger(*env_.store_);
  ASSERT_TRUE(mid.ok());
  EXPECT_TRUE(mid->clean()) << mid->toText();

  // 2. A reversal ended that hold by LWT, then died before the end row and the cache.
  ASSERT_TRUE(env_.tamper("UPDATE ledger.holds SET state = 'released', end_key = 'rev-crash', ended_us = 5 "
                          "WHERE hold_id = 'hold_crashed'")
                  .ok());
  auto broken = invariants::checkLedger(*env_.store_);
  ASSERT_TRUE(broken.ok());
  EXPECT_EQ(broken->of(4).size(), 1u) << broken->toText();
  EXPECT_EQ(broken->of(6).size(), 1u) << broken->toText();
  pb::ReleaseHoldRequest rel;
  rel.set_idempotency_key("rev-crash");
  rel.set_hold_id("hold_crashed");
  pb::Hold released;
  {
    grpc::ClientContext ctx;
    grpc::Status s = stub_->ReleaseHold(&ctx, rel, &released);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  EXPECT_TRUE(released.replayed());
  EXPECT_EQ(gbp("account:alice:main"), sb(1000, 1000));
  auto after = invariants::checkLedger(*env_.store_);
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->clean()) << after->toText();
}

TEST_F(LedgerTest, RetryOfAHoldWhoseBalanceMovedButWhoseRowWasLostHoldsOnce) {
  pb::PostEntrySetResponse r;
  ASSERT_TRUE(transfer("fund", "scheme:fps:suspense", "account:alice:main", 1000, &r).ok());
  // The hold row and the balance LWT go out together. Here the balance moved and the
  // process died before the hold row landed.
  ASSERT_TRUE(env_.tamper("INSERT INTO ledger.idempotency (idempotency_key, kind, result_id, fingerprint, state) "
                          "VALUES ('auth-split', 'hold', 'hold_split', 'hold\naccount:alice:main GBP 250 -', "
                          "'pending')")
                  .ok());
  ASSERT_TRUE(env_.tamper("UPDATE ledger.balances SET held = 250 WHERE address = 'account:alice:main' AND "
                          "currency = 'GBP'")
                  .ok());
  // The retry reaches a restarted ledger: nothing in memory, only the store.
  auto restarted = Ledger::open(*env_.store_, nullptr, env_.clock_);
  ASSERT_TRUE(restarted.ok()) << restarted.status().toString();
  pb::CreateHoldRequest hreq;
  hreq.set_idempotency_key("auth-split");
  hreq.set_address("account:alice:main");
  hreq.mutable_amount()->set_minor_units(250);
  hreq.mutable_amount()->set_currency("GBP");
  auto hold = (*restarted)->createHold(hreq);
  ASSERT_TRUE(hold.ok()) << hold.status().toString();
  EXPECT_EQ(hold->hold_id(), "hold_split");
  auto b = (*restarted)->balance("account:alice:main", /*verify=*/true);
  ASSERT_TRUE(b.ok()) << b.status().toString();
  ASSERT_EQ(b->currencies_size(), 1);
  EXPECT_EQ(b->currencies(0).settled_minor_units(), 1000);
  EXPECT_EQ(b->currencies(0).available_minor_units(), 750) << "held once, not twice";
  // A second retry is a replay of that hold.
  auto again = (*restarted)->createHold(hreq);
  ASSERT_TRUE(again.ok()) << again.status().toString();
  EXPECT_TRUE(again->replayed());
  EXPECT_EQ(again->hold_id(), "hold_split");
  auto after = invariants::checkLedger(*env_.store_);
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->clean()) << after->toText();
}

TEST_F(LedgerTest, CacheWhoseEntriesReadBackEmptyIsRefusedOnVerify) {
  pb::PostEntrySetResponse r;
  ASSERT_TRUE(transfer("fund", "scheme:fps:suspense", "account:alice:main", 1000, &r).ok());
  ASSERT_TRUE(env_.tamper("DELETE FROM ledger.entries WHERE address = 'account:alice:main'").ok());
  pb::Balance b;
  grpc::Status s = balance("account:alice:main", &b, /*verify=*/true);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(s.error_message().find("entries read back empty"), std::string::npos) << s.error_message();
}

TEST_F(LedgerTest, CachedBalanceEqualsARecomputationAndADriftIsReportedThenRebuilt) {
  pb::PostEntrySetResponse r;
  ASSERT_TRUE(transfer("fund", "scheme:fps:suspense", "account:alice:main", 1000, &r).ok());
  ASSERT_TRUE(transfer("p1", "account:alice:main", "account:bob:main", 250, &r).ok());
  ASSERT_TRUE(transfer("p2", "account:bob:main", "pot:savings1", 50, &r).ok());
  EXPECT_EQ(gbp("account:alice:main").first, 750);
  EXPECT_EQ(gbp("account:bob:main").first, 200);
  EXPECT_EQ(gbp("pot:savings1").first, 50);
  EXPECT_EQ(gbp("scheme:fps:suspense").first, -1000);
  ASSERT_TRUE(env_.tamper("UPDATE ledger.balances SET settled = 9999 WHERE address = 'account:bob:main' AND "
                            "currency = 'GBP'")
                  .ok());
  pb::Balance b;
  grpc::Status s = balance("account:bob:main", &b, /*verify=*/true);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DATA_LOSS);
  EXPECT_NE(s.error_message().find("entries sum to 200"), std::string::npos) << s.error_message();
  // The next posting finds the row is not what it wrote, and rebuilds it from the entries.
  ASSERT_TRUE(transfer("p3", "account:alice:main", "account:bob:main", 5, &r).ok());
  EXPECT_EQ(gbp("account:bob:main").first, 205);
}

}  // namespace
}  // namespace sandbank::ledger
