// Tests for sim/core: Status/Result, durations, did-you-mean, log lines, clocks.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>

#include "sandbank/core/clock.h"
#include "sandbank/core/clock_file.h"
#include "sandbank/core/duration.h"
#include "sandbank/core/log.h"
#include "sandbank/core/result.h"
#include "sandbank/core/strong_id.h"
#include "sandbank/core/text.h"

namespace sandbank {
namespace {

Result<int> half(int x) {
  if (x % 2) return InvalidArgument("odd");
  return x / 2;
}

Result<int> quarter(int x) {
  SANDBANK_ASSIGN_OR_RETURN(int h, half(x));
  return half(h);
}

TEST(Result, CarriesValueOrStatus) {
  EXPECT_EQ(*quarter(8), 2);
  Result<int> bad = quarter(6);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().toString(), "INVALID_ARGUMENT: odd");
}

TEST(Status, WithContextPrefixesMessageAndKeepsCode) {
  Status s = NotFound("no such service").withContext("bank.yaml:3");
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "bank.yaml:3: no such service");
  EXPECT_TRUE(OkStatus().withContext("x").ok());
}

TEST(Duration, ParsesCompoundUnits) {
  using namespace std::chrono_literals;
  EXPECT_EQ(*parseDuration("250ms"), 250ms);
  EXPECT_EQ(*parseDuration("1m30s"), 90s);
  EXPECT_EQ(*parseDuration("7d"), std::chrono::hours(24 * 7));
  EXPECT_EQ(*parseDuration("1.5s"), 1500ms);
  EXPECT_EQ(*parseDuration("0"), 0ns);
}

TEST(Duration, RejectsBadTextWithReason) {
  auto r = parseDuration("10 parsecs");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("10 parsecs"), std::string::npos);
  EXPECT_FALSE(parseDuration("5").ok());
  EXPECT_FALSE(parseDuration("ms").ok());
  EXPECT_FALSE(parseDuration("").ok());
}

TEST(Duration, FormatsShortestExactForm) {
  using namespace std::chrono_literals;
  EXPECT_EQ(formatDuration(1500ms), "1.5s");
  EXPECT_EQ(formatDuration(std::chrono::hours(48)), "2d");
  EXPECT_EQ(formatDuration(0ns), "0s");
  EXPECT_EQ(formatDuration(7us), "7us");
}

TEST(Text, ClosestMatchSuggestsLikelyTypoOnly) {
  std::vector<std::string> keys{"command", "args", "env", "depends_on", "restart"};
  EXPECT_EQ(closestMatch("comand", keys), "command");
  EXPECT_EQ(closestMatch("depend_on", keys), "depends_on");
  EXPECT_EQ(closestMatch("zzzzzz", keys), "");
}

TEST(Log, LineRoundTripsThroughParser) {
  LogRecord r{fromMicros(1'700'000'000'123'456), LogLevel::kWarn, "ledger",
              "4bf92f3577b34da6a3ce929d0e0e4736", "balance \"cache\" miss\n", {{"account", "a1"}}};
  std::string line = formatLogLine(r);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_NE(line.find("\"ts\":\"2023-11-14T22:13:20.123456Z\""), std::string::npos);
  auto parsed = parseLogLine(line);
  ASSERT_TRUE(parsed.ok()) << parsed.status().toString();
  EXPECT_EQ(parsed->level, LogLevel::kWarn);
  EXPECT_EQ(parsed->component, "ledger");
  EXPECT_EQ(parsed->trace, r.trace);
  EXPECT_EQ(parsed->message, r.message);
  EXPECT_FALSE(parseLogLine("plain text").ok());
}

TEST(Log, LoggerFiltersBelowMinLevel) {
  ManualClock clock;
  Logger logger("supervisor", clock);
  std::vector<LogRecord> seen;
  logger.setSink([&](const LogRecord& r) { seen.push_back(r); });
  logger.debug("hidden");
  logger.info("shown", {{"k", "v"}});
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].message, "shown");
  EXPECT_EQ(seen[0].time, clock.now());
}

TEST(Clock, ShiftedClockOnlyMovesForward) {
  ShiftedClock clock;
  clock.advance(std::chrono::hours(24));
  clock.advance(std::chrono::hours(-5));
  EXPECT_EQ(clock.offset(), std::chrono::hours(24));
  EXPECT_GE(clock.now() - std::chrono::system_clock::now(), std::chrono::hours(23));
}

TEST(Clock, ManualClockMovesOnlyWhenTold) {
  ManualClock clock;
  TimePoint t0 = clock.now();
  EXPECT_EQ(clock.now(), t0);
  clock.advance(std::chrono::seconds(3));
  EXPECT_EQ(clock.now() - t0, std::chrono::seconds(3));
}

TEST(SharedClock, AdvancingTheWriterMovesEveryReader) {
  std::string path = ::testing::TempDir() + "/clock-" + std::to_string(::getpid());
  auto writer = SharedClockOffset::create(path);
  ASSERT_TRUE(writer.ok()) << writer.status().toString();
  auto reader = SharedClockOffset::open(path);
  ASSERT_TRUE(reader.ok()) << reader.status().toString();
  SharedOffsetClock clock(*reader);
  EXPECT_EQ((*reader)->offset(), Duration(0));
  (*writer)->advance(std::chrono::hours(24 * 7));
  (*writer)->advance(std::chrono::hours(-1));  // ignored
  EXPECT_EQ((*reader)->offset(), std::chrono::hours(24 * 7));
  EXPECT_GE(clock.now() - std::chrono::system_clock::now(), std::chrono::hours(24 * 7 - 1));
  (*reader)->advance(std::chrono::hours(1));  // a read-only mapping cannot move time
  EXPECT_EQ((*writer)->offset(), std::chrono::hours(24 * 7));
  EXPECT_FALSE(SharedClockOffset::open(path + ".missing").ok());
  std::remove(path.c_str());
}

TEST(StrongId, DistinctTypesCompareByValue) {
  ServiceName a("ledger"), b("ledger"), c("fraud");
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_EQ(std::hash<ServiceName>{}(a), std::hash<std::string>{}("ledger"));
}

}  // namespace
}  // namespace sandbank
