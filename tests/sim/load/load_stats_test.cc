// LatencyHistogram percentiles, option validation messages and the progress line format.
#include <gtest/gtest.h>

#include <sstream>

#include "sandbank/load/load_generator.h"
#include "sandbank/load/load_stats.h"

namespace sandbank::load {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;

TEST(LatencyHistogramTest, PercentilesAreWithinBucketPrecision) {
  LatencyHistogram h;
  for (int i = 1; i <= 1000; ++i) h.record(microseconds(i * 10));  // 10us .. 10ms
  EXPECT_EQ(h.count(), 1000u);
  EXPECT_EQ(h.max(), microseconds(10'000));
  auto p50 = h.percentile(0.5);
  EXPECT_GE(p50, microseconds(5'000));
  EXPECT_LE(p50, microseconds(5'000 * 1063 / 1000));
  auto p99 = h.percentile(0.99);
  EXPECT_GE(p99, microseconds(9'900));
  EXPECT_LE(p99, microseconds(10'000));  // capped at max
  EXPECT_EQ(h.percentile(1.0), microseconds(10'000));
}

TEST(LatencyHistogramTest, EmptyHistogramReportsZero) {
  LatencyHistogram h;
  EXPECT_EQ(h.percentile(0.5), nanoseconds(0));
  EXPECT_EQ(h.max(), nanoseconds(0));
}

TEST(LatencyHistogramTest, MergeAddsCountsAndKeepsLargestMax) {
  LatencyHistogram a, b;
  for (int i = 0; i < 99; ++i) a.record(microseconds(100));
  b.record(std::chrono::seconds(2));
  a.merge(b);
  EXPECT_EQ(a.count(), 100u);
  EXPECT_EQ(a.max(), std::chrono::seconds(2));
  EXPECT_LE(a.percentile(0.5), microseconds(107));
  EXPECT_EQ(a.percentile(1.0), std::chrono::seconds(2));
}

TEST(LoadOptionsTest, ValidationNamesTheFlagAndValue) {
  LoadOptions o;
  EXPECT_TRUE(validateOptions(o).ok()) << validateOptions(o).toString();
  o.rate = -1;
  EXPECT_EQ(validateOptions(o).message(), "--rate must be > 0, got -1");
  o = LoadOptions();
  o.customers = 0;
  EXPECT_EQ(validateOptions(o).message(), "--customers must be >= 1, got 0");
  o = LoadOptions();
  o.edge = "localhost";
  EXPECT_EQ(validateOptions(o).code(), StatusCode::kInvalidArgument);
  EXPECT_NE(validateOptions(o).message().find("--edge"), std::string::npos);
  o.edge = "localhost:70000";
  EXPECT_NE(validateOptions(o).message().find("1..65535"), std::string::npos);
  o = LoadOptions();
  o.concurrency = 0;
  EXPECT_NE(validateOptions(o).message().find("--concurrency"), std::string::npos);
  o = LoadOptions();
  o.mix.retransmit_fraction = 1.5;
  EXPECT_NE(validateOptions(o).message().find("retransmit_fraction"), std::string::npos);
}

TEST(LoadOptionsTest, RunTooShortToSignEveryoneUpIsRefused) {
  LoadOptions o;
  o.customers = 50;
  o.rate = 10;
  o.duration = milliseconds(2000);
  Status st = validateOptions(o);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("schedules only 20 operations"), std::string::npos) << st.message();
  o.duration = milliseconds(0);  // until stopped
  EXPECT_TRUE(validateOptions(o).ok());
}

TEST(LoadOptionsTest, SplitHostPortAcceptsHostnamesAndBracketedIpv6) {
  std::string host, port;
  ASSERT_TRUE(splitHostPort("127.0.0.1:8080", &host, &port).ok());
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, "8080");
  ASSERT_TRUE(splitHostPort("[::1]:9", &host, &port).ok());
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, "9");
  EXPECT_FALSE(splitHostPort(":80", &host, &port).ok());
  EXPECT_FALSE(splitHostPort("host:", &host, &port).ok());
}

LoadStats sampleStats() {
  LoadStats s;
  s.elapsed = milliseconds(12'000);
  s.attempted = 1180;
  s.failed = 3;
  s.current_rate = 98.3;
  s.p50 = microseconds(4'100);
  s.p99 = microseconds(18'700);
  return s;
}

TEST(ProgressTest, LineWithoutTtyEndsWithNewline) {
  std::ostringstream out;
  printProgress(sampleStats(), out, /*tty=*/false);
  EXPECT_EQ(out.str(), "12.0s  ops 1180  rate 98.3/s  errors 3 (0.3%)  p50 4.1ms  p99 18.7ms\n");
}

TEST(ProgressTest, LineOnTtyIsRewrittenInPlace) {
  std::ostringstream out;
  printProgress(sampleStats(), out, /*tty=*/true);
  printProgress(sampleStats(), out, /*tty=*/true);
  std::string s = out.str();
  EXPECT_EQ(s.find('\n'), std::string::npos);
  EXPECT_EQ(s.rfind("\r12.0s  ops 1180", 0), 0u);
  EXPECT_EQ(std::count(s.begin(), s.end(), '\r'), 2);
}

TEST(ProgressTest, SubMillisecondLatenciesKeepTwoDecimals) {
  LoadStats s;
  s.p50 = microseconds(420);
  s.p99 = milliseconds(1500);
  std::ostringstream out;
  printProgress(s, out, false);
  EXPECT_EQ(out.str(), "0.0s  ops 0  rate 0.0/s  errors 0 (0.0%)  p50 0.42ms  p99 1.50s\n");
}

TEST(RunLoadTest, InvalidOptionsReturnTwoWithTheReason) {
  LoadOptions o;
  o.rate = -1;
  std::ostringstream out;
  EXPECT_EQ(runLoad(o, out, false), 2);
  EXPECT_NE(out.str().find("--rate must be > 0, got -1"), std::string::npos) << out.str();
}

}  // namespace
}  // namespace sandbank::load
