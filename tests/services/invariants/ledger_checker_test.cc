// The invariant checker against a real ledger and account service over an in-process
// store: clean on a ledger built through the services, and each invariant caught when a
// row is corrupted behind the services' backs.
#include <gtest/gtest.h>

#include "../bankcore/bank_test_env.h"
#include "sandbank/account/accounts.h"
#include "sandbank/invariants/ledger_checker.h"
#include "sandbank/ledger/ledger.h"

namespace sandbank::invariants {
namespace {

namespace lpb = ::sandbank::bank::ledger;
namespace apb = ::sandbank::bank::account;

class LedgerCheckerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_.start();
    ASSERT_FALSE(HasFatalFailure());
    auto ledger = ledger::Ledger::open(*env_.store_, nullptr, env_.clock_);
    ASSERT_TRUE(ledger.ok()) << ledger.status().toString();
    ledger_ = std::move(ledger).value();
    auto accounts = account::Accounts::open(*env_.store_, nullptr, env_.clock_);
    ASSERT_TRUE(accounts.ok()) << accounts.status().toString();
    accounts_ = std::move(accounts).value();
    buildGoodLedger();
  }
  void TearDown() override { env_.stop(); }

  std::string openAccount(const std::string& name, int64_t overdraft) {
    apb::CreateUserRequest u;
    u.set_idempotency_key("user-" + name);
    u.set_name(name);
    u.set_email(name + "@example.com");
    auto user = accounts_->createUser(u);
    EXPECT_TRUE(user.ok()) << user.status().toString();
    apb::CreateAccountRequest a;
    a.set_idempotency_key("acc-" + name);
    a.set_user_id(user->user_id());
    a.set_overdraft_limit_minor_units(overdraft);
    auto acc = accounts_->create(a);
    EXPECT_TRUE(acc.ok()) << acc.status().toString();
    return acc->ledger_address();
  }

  void move(const std::string& key, const std::string& from, const std::string& to, int64_t amount,
            std::optional<int64_t> floor = std::nullopt) {
    lpb::PostEntrySetRequest r;
    r.set_idempotency_key(key);
    auto* d = r.add_entries();
    d->set_address(from);
    d->mutable_amount()->set_minor_units(-amount);
    d->mutable_amount()->set_currency("GBP");
    auto* c = r.add_entries();
    c->set_address(to);
    c->mutable_amount()->set_minor_units(amount);
    c->mutable_amount()->set_currency("GBP");
    if (floor) {
      auto* f = r.add_floors();
      f->set_address(from);
      f->set_currency("GBP");
      f->set_minimum_minor_units(*floor);
    }
    auto p = ledger_->post(r);
    ASSERT_TRUE(p.ok()) << p.status().toString();
  }

  std::string hold(const std::string& key, const std::string& address, int64_t amount) {
    lpb::CreateHoldRequest h;
    h.set_idempotency_key(key);
    h.set_address(address);
    h.mutable_amount()->set_minor_units(amount);
    h.mutable_amount()->set_currency("GBP");
    auto r = ledger_->createHold(h);
    EXPECT_TRUE(r.ok()) << r.status().toString();
    return r.ok() ? r->hold_id() : "";
  }

  // alice: overdraft 500, ends at settled -420 with an active hold of 50 (available -470);
  // bob: 300 received, 100 into a pot; one hold settled (at a different amount), one
  // released, one active.
  void buildGoodLedger() {
    alice_ = openAccount("alice", 500);
    bob_ = openAccount("bob", 0);
    move("fund-alice", "scheme:fps:suspense", alice_, 1000);
    move("p2p-1", alice_, bob_, 300, -500);
    move("pot-1", bob_, "pot:bobsavings", 100, 0);
    settled_hold_ = hold("auth-1", alice_, 100);
    lpb::SettleHoldRequest s;
    s.set_idempotency_key("clear-1");
    s.set_hold_id(settled_hold_);
    auto* d = s.add_entries();
    d->set_address(alice_);
    d->mutable_amount()->set_minor_units(-120);
    d->mutable_amount()->set_currency("GBP");
    auto* c = s.add_entries();
    c->set_address("scheme:mastercard:pending");
    c->mutable_amount()->set_minor_units(120);
    c->mutable_amount()->set_currency("GBP");
    ASSERT_TRUE(ledger_->settleHold(s).ok());
    std::string released = hold("auth-2", alice_, 30);
    lpb::ReleaseHoldRequest rel;
    rel.set_idempotency_key("reverse-2");
    rel.set_hold_id(released);
    ASSERT_TRUE(ledger_->releaseHold(rel).ok());
    move("spend-big", alice_, "scheme:mastercard:pending", 1000, -500);
    hold("auth-3", alice_, 50);
  }

  CheckReport check() {
    auto r = checkLedger(*env_.store_);
    EXPECT_TRUE(r.ok()) << r.status().toString();
    return r.ok() ? *r : CheckReport{};
  }

  std::string accountIdOf(const std::string& address) { return bank::accountOf(address)->value(); }

  bank::testing::BankTestEnv env_;
  std::unique_ptr<ledger::Ledger> ledger_;
  std::unique_ptr<account::Accounts> accounts_;
  std::string alice_, bob_, settled_hold_;
};

TEST_F(LedgerCheckerTest, ALedgerBuiltThroughTheServicesIsClean) {
  CheckReport r = check();
  EXPECT_TRUE(r.clean()) << r.toText();
  EXPECT_EQ(r.addresses, 5);  // alice, bob, pot, fps suspense, mastercard pending
  EXPECT_EQ(r.entrysets, 5);
  EXPECT_EQ(r.entries, 10);
  EXPECT_EQ(r.holds, 3);
  auto bal = ledger_->balance(alice_, true);
  ASSERT_TRUE(bal.ok()) << bal.status().toString();
  EXPECT_EQ(bal->currencies(0).available_minor_units(), -470);
}

TEST_F(LedgerCheckerTest, AnEmptyStoreIsClean) {
  ASSERT_TRUE(env_.store_->execute("DROP KEYSPACE ledger").ok());
  CheckReport r = check();
  EXPECT_TRUE(r.clean()) << r.toText();
  EXPECT_EQ(r.addresses, 0);
}

TEST_F(LedgerCheckerTest, AnUnbalancedEntrySetWrittenDirectlyBreaksInvariantsOneAndTwo) {
  ASSERT_TRUE(env_.tamper("INSERT INTO ledger.entries (address, entryset_id, leg, amount, currency) VALUES ('" +
                          bob_ + "', 'es_forged', 0, 500, 'GBP')")
                  .ok());
  ASSERT_TRUE(env_.tamper("INSERT INTO ledger.entrysets (entryset_id, idempotency_key, legs) VALUES ('es_forged', "
                          "'forged', '" + bob_ + " GBP 500\n')")
                  .ok());
  CheckReport r = check();
  auto one = r.of(1);
  ASSERT_EQ(one.size(), 2u) << r.toText();  // its entry rows and its own legs
  EXPECT_EQ(one[0].subject, "entryset es_forged");
  EXPECT_NE(one[0].detail.find("GBP 500"), std::string::npos) << one[0].detail;
  EXPECT_FALSE(one[0].rows.empty());
  auto two = r.of(2);
  ASSERT_EQ(two.size(), 1u) << r.toText();
  EXPECT_EQ(two[0].subject, "address " + bob_ + " GBP");
  EXPECT_NE(two[0].detail.find("entries sum to 700"), std::string::npos) << two[0].detail;
}

TEST_F(LedgerCheckerTest, ACachedBalanceThatDriftedBreaksInvariantTwo) {
  ASSERT_TRUE(env_.tamper("UPDATE ledger.balances SET settled = 999 WHERE address = 'pot:bobsavings' AND currency = 'GBP'")
                  .ok());
  CheckReport r = check();
  ASSERT_EQ(r.violations.size(), 1u) << r.toText();
  EXPECT_EQ(r.violations[0].invariant, 2);
  EXPECT_EQ(r.violations[0].subject, "address pot:bobsavings GBP");
  EXPECT_NE(r.violations[0].detail.find("cached settled balance 999"), std::string::npos);
  EXPECT_NE(r.toText().find("ledger.balances:"), std::string::npos) << r.toText();
}

TEST_F(LedgerCheckerTest, TwoEntrySetsUnderOneIdempotencyKeyBreakInvariantThree) {
  // A second, balanced copy of p2p-1 posted behind the ledger's back.
  for (auto [address, amount, leg] : {std::tuple{alice_, -300, 0}, std::tuple{bob_, 300, 1}}) {
    ASSERT_TRUE(env_.tamper("INSERT INTO ledger.entries (address, entryset_id, leg, amount, currency) VALUES ('" +
                            address + "', 'es_copy', " + std::to_string(leg) + ", " + std::to_string(amount) +
                            ", 'GBP')")
                    .ok());
  }
  ASSERT_TRUE(env_.tamper("INSERT INTO ledger.entrysets (entryset_id, idempotency_key, legs) VALUES ('es_copy', "
                          "'p2p-1', '" + alice_ + " GBP -300\n" + bob_ + " GBP 300\n')")
                  .ok());
  CheckReport r = check();
  auto three = r.of(3);
  ASSERT_EQ(three.size(), 1u) << r.toText();
  EXPECT_EQ(three[0].subject, "idempotency key 'p2p-1'");
  EXPECT_NE(three[0].detail.find("es_copy"), std::string::npos) << three[0].detail;
  EXPECT_TRUE(r.of(1).empty()) << r.toText();  // the copy itself balances
}

TEST_F(LedgerCheckerTest, HeldThatDisagreesWithActiveHoldsBreaksInvariantFour) {
  ASSERT_TRUE(env_.tamper("UPDATE ledger.balances SET held = 0 WHERE address = '" + alice_ + "' AND currency = 'GBP'").ok());
  CheckReport r = check();
  ASSERT_EQ(r.violations.size(), 1u) << r.toText();
  EXPECT_EQ(r.violations[0].invariant, 4);
  EXPECT_NE(r.violations[0].detail.find("active holds sum to 50"), std::string::npos) << r.violations[0].detail;
}

TEST_F(LedgerCheckerTest, AvailableBelowTheOverdraftBreaksInvariantFour) {
  // The bank quietly withdrew alice's overdraft while she was using 470 of it.
  ASSERT_TRUE(env_.tamper("UPDATE account.accounts SET overdraft = 0 WHERE account_id = '" + accountIdOf(alice_) + "'")
                  .ok());
  CheckReport r = check();
  auto four = r.of(4);
  ASSERT_EQ(four.size(), 1u) << r.toText();
  EXPECT_NE(four[0].detail.find("available -470"), std::string::npos) << four[0].detail;
  EXPECT_NE(four[0].detail.find("below the floor 0"), std::string::npos) << four[0].detail;
}

TEST_F(LedgerCheckerTest, AHoldEndedTwiceBreaksInvariantSix) {
  ASSERT_TRUE(env_.tamper("INSERT INTO ledger.hold_ends (hold_id, end_key, state, at_us) VALUES ('" + settled_hold_ +
                          "', 'reverse-late', 'released', 1)")
                  .ok());
  CheckReport r = check();
  ASSERT_EQ(r.violations.size(), 1u) << r.toText();
  EXPECT_EQ(r.violations[0].invariant, 6);
  EXPECT_EQ(r.violations[0].subject, "hold " + settled_hold_);
  EXPECT_NE(r.violations[0].detail.find("2 recorded ends"), std::string::npos) << r.violations[0].detail;
}

}  // namespace
}  // namespace sandbank::invariants
