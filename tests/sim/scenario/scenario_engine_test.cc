// The scenario engine without a bank: script errors with file:line:column and the JS
// stack, assertion diffs, waitFor timeouts, setup/teardown order, the watchdog, seeded
// random(), and the JUnit and HTML reports.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "sandbank/scenario/report.h"
#include "sandbank/scenario/scenario_engine.h"
#include "sandbank/scenario/text_diff.h"

namespace sandbank::scenario {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
namespace fs = std::filesystem;

class ScenarioEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("sandbank-scenario-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text) {
    std::string path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }
  ScenarioOutcome runOne(const std::string& path, const std::string& name, uint64_t seed = 7) {
    EngineOptions o;
    o.seed = seed;
    ScenarioEngine engine(o);
    return engine.run({path, name});
  }

  fs::path dir_;
};

TEST_F(ScenarioEngineTest, LoadListsScenariosInDeclarationOrder) {
  std::string path = write("two.js",
                           "scenario('first', () => {});\n"
                           "scenario('second', { setup() {}, run() {}, teardown() {} });\n");
  ScenarioEngine engine({});
  auto list = engine.load(path);
  ASSERT_TRUE(list.ok()) << list.status().toString();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "first");
  EXPECT_EQ((*list)[1].name, "second");
}

TEST_F(ScenarioEngineTest, SyntaxErrorNamesFileLineAndColumn) {
  std::string path = write("broken.js",
                           "scenario('a', () => {\n"
                           "  let x = (1 + ;\n"
                           "});\n");
  ScenarioEngine engine({});
  auto list = engine.load(path);
  ASSERT_FALSE(list.ok());
  EXPECT_EQ(list.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(list.status().message(), StartsWith(path + ":2:16: SyntaxError: "));
}

TEST_F(ScenarioEngineTest, DuplicateScenarioNameIsAnErrorAtItsLine) {
  std::string path = write("dup.js",
                           "scenario('a', () => {});\n"
                           "\n"
                           "scenario('a', () => {});\n");
  ScenarioEngine engine({});
  auto list = engine.load(path);
  ASSERT_FALSE(list.ok());
  EXPECT_THAT(list.status().message(), StartsWith(path + ":3:1: TypeError: scenario 'a' is declared twice"));
}

TEST_F(ScenarioEngineTest, RuntimeErrorGivesFileLineColumnAndTheStack) {
  std::string path = write("runtime.js",
                           "function helper() {\n"
                           "  return 1 + missingThing.x;\n"
                           "}\n"
                           "scenario('calls a helper', { run() { helper(); } });\n");
  ScenarioOutcome r = runOne(path, "calls a helper");
  EXPECT_EQ(r.verdict, Verdict::kError);
  EXPECT_EQ(r.location, path + ":2:14");
  EXPECT_THAT(r.message, StartsWith(path + ":2:14: ReferenceError in run: missingThing is not defined"));
  EXPECT_THAT(r.message, HasSubstr("at helper (" + path + ":2)"));
  EXPECT_THAT(r.message, HasSubstr("(" + path + ":4)"));
  EXPECT_THAT(r.message, ::testing::Not(HasSubstr("prelude")));
}

TEST_F(ScenarioEngineTest, DeepEqualFailureShowsExpectedAgainstActualAsALineDiff) {
  std::string path = write("diff.js",
                           "scenario('balances', () => {\n"
                           "  const got = {account: 'a1', amounts: [1250, 99]};\n"
                           "  assert.deepEqual(got, {account: 'a1', amounts: [1250, 100]}, 'the balance');\n"
                           "});\n");
  ScenarioOutcome r = runOne(path, "balances");
  EXPECT_EQ(r.verdict, Verdict::kFailed);
  EXPECT_EQ(r.location, path + ":3:3");
  EXPECT_THAT(r.message, HasSubstr("AssertionError in run: the balance: assert.deepEqual: values differ\n"
                                   "--- expected\n"
                                   "+++ actual\n"
                                   "  {\n"
                                   "    \"account\": \"a1\",\n"
                                   "    \"amounts\": [\n"
                                   "      1250,\n"
                                   "-     100\n"
                                   "+     99\n"
                                   "    ]\n"
                                   "  }\n"));
}

TEST_F(ScenarioEngineTest, EqualFailureNamesBothValues) {
  std::string path = write("eq.js", "scenario('status', () => { assert.equal('DECLINED', 'APPROVED'); });\n");
  ScenarioOutcome r = runOne(path, "status");
  EXPECT_EQ(r.verdict, Verdict::kFailed);
  EXPECT_THAT(r.message, HasSubstr("assert.equal: expected \"APPROVED\", got \"DECLINED\"\n--- expected\n+++ actual\n"
                                   "- \"APPROVED\"\n+ \"DECLINED\"\n"));
}

TEST_F(ScenarioEngineTest, LineDiffKeepsCommonLinesAndMarksTheRest) {
  EXPECT_EQ(lineDiff("a\nb\nc\n", "a\nx\nc\n"), "--- expected\n+++ actual\n  a\n- b\n+ x\n  c\n");
  EXPECT_EQ(lineDiff("same\n", "same\n"), "--- expected\n+++ actual\n  same\n");
  EXPECT_EQ(lineDiff("", "new\n"), "--- expected\n+++ actual\n+ new\n");
}

TEST_F(ScenarioEngineTest, WaitForTimeoutNamesTheStepAndSaysWhyThereIsNoFlow) {
  std::string path = write("wait.js",
                           "scenario('hold', () => {\n"
                           "  waitFor(() => false, '30ms', 'hold released');\n"
                           "});\n");
  ScenarioOutcome r = runOne(path, "hold");
  EXPECT_EQ(r.verdict, Verdict::kFailed);
  EXPECT_EQ(r.location, path + ":2:3");
  EXPECT_THAT(r.message, HasSubstr("TimeoutError in run: waitFor hold released timed out after 30ms (last value: false)"));
  EXPECT_THAT(r.message, HasSubstr("no trace was started by this scenario yet"));
  ASSERT_EQ(r.steps.size(), 1u);
  EXPECT_EQ(r.steps[0].name, "waitFor hold released");
  EXPECT_FALSE(r.steps[0].ok);
}

TEST_F(ScenarioEngineTest, WaitForReturnsTheFirstTruthyValue) {
  std::string path = write("wait_ok.js",
                           "scenario('counts', () => {\n"
                           "  let n = 0;\n"
                           "  const v = waitFor(() => (++n >= 3 ? 'third' : false), '5s');\n"
                           "  assert.equal(v, 'third');\n"
                           "  assert.equal(n, 3);\n"
                           "});\n");
  ScenarioOutcome r = runOne(path, "counts");
  EXPECT_EQ(r.verdict, Verdict::kPassed) << r.message;
}

TEST_F(ScenarioEngineTest, BankCallsWithoutABankFailWithAReason) {
  std::string path = write("nobank.js", "scenario('x', () => { rpc('ledger.GetBalance', {}); });\n");
  ScenarioOutcome r = runOne(path, "x");
  EXPECT_EQ(r.verdict, Verdict::kFailed);
  EXPECT_THAT(r.message, HasSubstr("RpcError in run: rpc: no bank in this run"));
}

TEST_F(ScenarioEngineTest, SetupFailureSkipsRunButStillTearsDown) {
  std::string path = write("phases.js",
                           "scenario('phases', {\n"
                           "  setup() { log('setup'); throw new Error('no account'); },\n"
                           "  run() { log('run'); },\n"
                           "  teardown(ctx) { log('teardown'); },\n"
                           "});\n");
  ScenarioOutcome r = runOne(path, "phases");
  EXPECT_EQ(r.verdict, Verdict::kFailed);
  EXPECT_THAT(r.message, HasSubstr(path + ":2:"));
  EXPECT_THAT(r.message, HasSubstr("Error in setup: no account"));
  EXPECT_EQ(r.log, (std::vector<std::string>{"setup", "teardown"}));
}

TEST_F(ScenarioEngineTest, ContextObjectIsSharedBetweenPhases) {
  std::string path = write("ctx.js",
                           "scenario('ctx', {\n"
                           "  setup(ctx) { ctx.account = 'acc-1'; },\n"
                           "  run(ctx) { assert.equal(ctx.account, 'acc-1'); ctx.ran = true; },\n"
                           "  teardown(ctx) { assert.ok(ctx.ran, 'run happened'); },\n"
                           "});\n");
  ScenarioOutcome r = runOne(path, "ctx");
  EXPECT_EQ(r.verdict, Verdict::kPassed) << r.message;
}

TEST_F(ScenarioEngineTest, ARunawayScriptIsInterruptedAtItsTimeout) {
  std::string path = write("loop.js", "scenario('spins', { timeout: '100ms', run() { for (;;) {} } });\n");
  ScenarioOutcome r = runOne(path, "spins");
  EXPECT_EQ(r.verdict, Verdict::kFailed);
  EXPECT_THAT(r.message, HasSubstr("ran longer than its limit of 100ms and was interrupted in run"));
}

TEST_F(ScenarioEngineTest, CancelInterruptsAWaitingScenarioAndSkipsItsTeardown) {
  std::string path = write("long.js",
                           "scenario('long', {\n"
                           "  run() { log('waiting'); waitFor(() => false, '60s', 'something that never happens'); },\n"
                           "  teardown() { log('teardown ran'); },\n"
                           "});\n");
  std::atomic<bool> cancel{false};
  EngineOptions o;
  o.cancel = &cancel;
  ScenarioEngine engine(o);
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    cancel = true;
  });
  ScenarioOutcome r = engine.run({path, "long"});
  stopper.join();
  EXPECT_EQ(r.verdict, Verdict::kFailed);
  EXPECT_THAT(r.message, StartsWith("stopped by the user in run"));
  EXPECT_LT(r.seconds, 30) << "stopped, not timed out";
  EXPECT_THAT(r.log, ::testing::Contains("waiting"));
  EXPECT_THAT(r.log, ::testing::Not(::testing::Contains("teardown ran")));
}

TEST_F(ScenarioEngineTest, RandomIsTheSameForTheSameSeedAndScenario) {
  std::string path = write("rand.js",
                           "scenario('dice', () => {\n"
                           "  log([random(), random(), Math.random(), randomInt(1, 6), uuid()].join(' '));\n"
                           "});\n");
  ScenarioOutcome a = runOne(path, "dice", 42);
  ScenarioOutcome b = runOne(path, "dice", 42);
  ScenarioOutcome c = runOne(path, "dice", 43);
  ASSERT_EQ(a.verdict, Verdict::kPassed) << a.message;
  ASSERT_EQ(a.log.size(), 1u);
  EXPECT_EQ(a.log, b.log);
  EXPECT_NE(a.log, c.log);
  EXPECT_NE(scenarioSeed(42, "dice"), scenarioSeed(42, "other"));
}

TEST_F(ScenarioEngineTest, BackgroundJobsRunWhileTheScriptWaits) {
  std::string path = write("bg.js",
                           "scenario('load', () => {\n"
                           "  let calls = 0;\n"
                           "  const job = background(1000, () => { calls++; });\n"
                           "  waitFor(() => calls >= 5, '5s', 'five background calls');\n"
                           "  const r = job.stop();\n"
                           "  assert.ok(r.count >= 5);\n"
                           "  assert.equal(r.errors, 0);\n"
                           "});\n");
  ScenarioOutcome r = runOne(path, "load");
  EXPECT_EQ(r.verdict, Verdict::kPassed) << r.message;
}

TEST_F(ScenarioEngineTest, IncludeEvaluatesAHelperFileOnceRelativeToTheScenario) {
  fs::create_directories(dir_ / "lib");
  write("lib/helpers.js",
        "var loaded = (typeof loaded === 'number' ? loaded : 0) + 1;\n"
        "function double(x) { return 2 * x; }\n");
  std::string path = write("uses.js",
                           "include('lib/helpers.js');\n"
                           "include('lib/../lib/helpers.js');\n"
                           "scenario('helpers', () => {\n"
                           "  assert.equal(double(21), 42);\n"
                           "  assert.equal(loaded, 1, 'evaluated once');\n"
                           "});\n");
  ScenarioOutcome r = runOne(path, "helpers");
  EXPECT_EQ(r.verdict, Verdict::kPassed) << r.message;
}

TEST_F(ScenarioEngineTest, AnErrorInAnIncludedFileNamesItsOwnLineAndColumn) {
  fs::create_directories(dir_ / "lib");
  write("lib/broken.js", "function ok() {}\nvar x = (1 + ;\n");
  std::string path = write("main.js", "// first line\ninclude('lib/broken.js');\nscenario('a', () => {});\n");
  ScenarioEngine engine({});
  auto list = engine.load(path);
  ASSERT_FALSE(list.ok());
  const std::string lib = (dir_ / "lib/broken.js").string();
  EXPECT_THAT(list.status().message(), StartsWith(path + ":2:1: SyntaxError: include('lib/broken.js'): " + lib + ":2:"));
  std::string missing = write("missing.js", "include('lib/nope.js');\nscenario('a', () => {});\n");
  auto none = engine.load(missing);
  ASSERT_FALSE(none.ok());
  EXPECT_THAT(none.status().message(), HasSubstr("include('lib/nope.js'): cannot read " + (dir_ / "lib/nope.js").string()));
}

TEST_F(ScenarioEngineTest, EveryScriptInTheScenarioLibraryLoads) {
  ScenarioEngine engine({});
  size_t files = 0;
  for (const auto& e : fs::directory_iterator(SANDBANK_SOURCE_DIR "/scenarios")) {
    if (e.path().extension() != ".js") continue;
    ++files;
    auto list = engine.load(e.path().string());
    EXPECT_TRUE(list.ok()) << list.status().toString();
    if (list.ok()) {
      EXPECT_FALSE(list->empty()) << e.path();
    }
  }
  EXPECT_GE(files, 6u);
}

std::vector<ScenarioOutcome> sampleOutcomes() {
  ScenarioOutcome ok;
  ok.file = "scenarios/card_payment.js";
  ok.name = "happy path";
  ok.seconds = 0.25;
  ok.steps = {{"rpc card-processor.Authorise", 3.5, true}};
  ok.log = {"authorised <1250>"};
  ScenarioOutcome bad;
  bad.file = "scenarios/card_payment.js";
  bad.name = "hold & \"expiry\"";
  bad.verdict = Verdict::kFailed;
  bad.message = "scenarios/card_payment.js:9:3: TimeoutError in run: waitFor hold released timed out after 2s\nmore";
  bad.seconds = 2.5;
  flow::FlowEvent e;
  e.id = 1;
  e.trace_id = "0123456789abcdef0123456789abcdef";
  e.kind = flow::FlowKind::kRpc;
  e.source = "scenario";
  e.destination = "ledger";
  e.method = "sandbank.bank.ledger.Ledger/PostEntrySet";
  e.start_sim_us = 1000;
  e.end_sim_us = 2000;
  bad.trace_id = e.trace_id;
  bad.trace_events = {e};
  ScenarioOutcome broken;
  broken.file = "scenarios/retries.js";
  broken.name = "typo";
  broken.verdict = Verdict::kError;
  broken.message = "scenarios/retries.js:2:3: ReferenceError in run: rcp is not defined";
  return {ok, bad, broken};
}

TEST_F(ScenarioEngineTest, JUnitXmlHasASuitePerFileAndACasePerScenario) {
  RunSummary run;
  run.timestamp = "2026-11-28T19:00:00.000Z";
  run.seconds = 3.0;
  run.seed = 9;
  std::string xml = junitXml(sampleOutcomes(), run);
  EXPECT_THAT(xml, HasSubstr("<testsuites name=\"sandbank\" tests=\"3\" failures=\"1\" errors=\"1\""));
  EXPECT_THAT(xml, HasSubstr("<testsuite name=\"card_payment\" id=\"0\" package=\"scenarios\" hostname=\"localhost\" "
                             "tests=\"2\" failures=\"1\" errors=\"0\" skipped=\"0\" time=\"2.750\" "
                             "timestamp=\"2026-11-28T19:00:00\">"));
  EXPECT_THAT(xml, HasSubstr("<testcase classname=\"card_payment\" name=\"hold &amp; &quot;expiry&quot;\" time=\"2.500\">"));
  EXPECT_THAT(xml, HasSubstr("<failure message=\"scenarios/card_payment.js:9:3: TimeoutError in run: waitFor hold "
                             "released timed out after 2s\" type=\"ScenarioFailure\">"));
  EXPECT_THAT(xml, HasSubstr("<error message=\"scenarios/retries.js:2:3: ReferenceError in run: rcp is not defined\" "
                             "type=\"ScriptError\">"));
  EXPECT_THAT(xml, HasSubstr("<property name=\"seed\" value=\"9\"/>"));

  // And a validating XML reader accepts it against the JUnit schema.
  std::string file = write("junit.xml", xml);
  std::string cmd = "xmllint --noout --schema " SANDBANK_SOURCE_DIR "/tests/sim/scenario/junit.xsd " + file + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string said;
  char buf[512];
  while (size_t n = fread(buf, 1, sizeof buf, p)) said.append(buf, n);
  int rc = ::pclose(p);
  EXPECT_EQ(rc, 0) << said;
  EXPECT_THAT(said, HasSubstr("validates"));
}

TEST_F(ScenarioEngineTest, HtmlReportHasStepTimingsAndADiagramPerFailure) {
  RunSummary run;
  run.seed = 9;
  std::string html = htmlReport(sampleOutcomes(), run);
  EXPECT_THAT(html, StartsWith("<!DOCTYPE html>"));
  EXPECT_THAT(html, HasSubstr("1 passed, 2 failed"));
  EXPECT_THAT(html, HasSubstr("<td>rpc card-processor.Authorise</td><td>3.5</td>"));
  EXPECT_THAT(html, HasSubstr("hold &amp; &quot;expiry&quot;"));
  // Two failures, two diagrams; the passing scenario gets none.
  size_t svgs = 0;
  for (size_t p = html.find("<svg"); p != std::string::npos; p = html.find("<svg", p + 1)) ++svgs;
  EXPECT_EQ(svgs, 2u);
  EXPECT_THAT(html, HasSubstr(">ledger</text>"));
  EXPECT_THAT(html, HasSubstr("no events recorded for this trace"));
  EXPECT_EQ(html.find("<script"), std::string::npos);
}

}  // namespace
}  // namespace sandbank::scenario
