// A short chaos soak of the reference bank (bank.yaml): load through the edge while a
// seeded monkey kills, pauses, partitions, takes store nodes down and stalls consumer
// groups; afterwards the bank must recover and nothing may be lost, duplicated or left
// running. The long run and its figures are in docs/RELIABILITY.md.
#include <gtest/gtest.h>

#include <sstream>

#include "sandbank/cli/bank_check.h"
#include "sandbank/soak/soak.h"

namespace sandbank::soak {
namespace {

using namespace std::chrono_literals;

TEST(SoakTest, BankUnderChaosLosesNoAcknowledgedMoneyAndLeavesNoProcessBehind) {
  // Given the bank under 20 s of load with a fault every 2 s,
  SoakOptions o;
  o.manifest = std::string(SANDBANK_SOURCE_DIR) + "/bank.yaml";
  o.bin_dir = SANDBANK_BIN_DIR;
  o.duration = 20s;
  o.interval = 2s;
  o.seed = 7;
  o.rate = 15;
  o.customers = 10;
  o.progress_every = 0ms;
  o.recover_timeout = 60s;
  std::ostringstream log;

  // when the soak runs to the end,
  auto r = runSoak(o, [](control::Simulator& sim) { return cli::makeBankChecker(sim); }, log);

  // then it ran load and faults, and every check holds.
  ASSERT_TRUE(r.ok()) << r.status().toString() << "\n" << log.str();
  const std::string report = formatSoakReport(*r) + "\n" + log.str();
  EXPECT_GT(r->load.attempted, 0u) << report;
  EXPECT_GT(r->ledger.acknowledged, 0) << report;
  int64_t injected = 0;
  for (int64_t n : r->faults_by_kind) injected += n;
  EXPECT_GE(injected, 5) << report;
  EXPECT_TRUE(r->recovered) << report;
  EXPECT_TRUE(r->check_error.empty()) << report;
  EXPECT_EQ(r->invariant_violations, 0) << report;
  EXPECT_TRUE(r->ledger_error.empty()) << report;
  EXPECT_EQ(r->ledger.found_once, r->ledger.acknowledged) << report;
  EXPECT_EQ(r->ledger.missing, 0) << report;
  EXPECT_EQ(r->ledger.duplicated, 0) << report;
  EXPECT_EQ(r->ledger.duplicate_origins, 0) << report;
  EXPECT_TRUE(r->bus_error.empty()) << report;
  EXPECT_GT(r->bus.committed_records, 0) << report;
  EXPECT_EQ(r->bus.undelivered_records, 0) << report;
  EXPECT_EQ(r->bus.lag, 0) << report;
  EXPECT_GT(r->processes.started, 0) << report;
  EXPECT_TRUE(r->processes.orphans.empty()) << report;
  EXPECT_EQ(r->violations(), 0) << report;
}

TEST(SoakTest, OptionsNameTheBadFlag) {
  SoakOptions o;
  o.interval = 0ms;
  EXPECT_NE(validateSoakOptions(o).message().find("--interval"), std::string::npos);
  o = SoakOptions{};
  o.duration = 1s;
  o.rate = 5;
  o.customers = 20;
  EXPECT_NE(validateSoakOptions(o).message().find("--duration is too short"), std::string::npos);
  EXPECT_TRUE(validateSoakOptions(SoakOptions{}).ok());
}

}  // namespace
}  // namespace sandbank::soak
