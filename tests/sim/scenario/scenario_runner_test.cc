// runScenarios against the skeleton bank (echo services standing in for the bank): a
// scenario calls a service through the mesh, produces and consumes on the bus, writes
// and reads the store and bends them with faults; the next scenario starts from a reset
// bank; a failing one shows its trace; an invariant violation reported by the checker
// (through the control API's Check) fails its scenario; and the JUnit, HTML and
// recording outputs say so.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "sandbank/control/simulator.h"
#include "sandbank/flow/flow_query.h"
#include "sandbank/scenario/runner.h"
#include "sandbank/store/session.h"

namespace sandbank::scenario {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

std::string readAll(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

constexpr const char* kScript = R"JS(
scenario('echo through the mesh', () => {
  const reply = rpc('ledger.Echo', {text: 'hello ledger'});
  assert.equal(reply.text, 'hello ledger');
  assert.equal(reply.service, 'ledger');
  assert.equal(reply.trace_id, lastTrace(), 'the call carried the scenario trace');
  const e = expectFlow({kind: 'rpc', destination: 'ledger', method: '*Echo/Echo', text: 'hello ledger'}, '5s');
  assert.equal(e.source, 'scenario');
  // Across services: card calls account through the mesh, inside the same trace.
  const relayed = rpc('card.Call', {target: 'account', text: 'relay', timeout_ms: 2000});
  assert.equal(relayed.service, 'account');
  expectFlow({kind: 'rpc', source: 'card', destination: 'account', trace: lastTrace()}, '5s');
});

scenario('bus and store round trip', () => {
  bus.createTopic('drill.events', {partitions: 3});
  const ack = bus.produce('drill.events', {account: 'a1', amount: -1250}, {key: 'a1'});
  const got = bus.waitFor('drill.events', r => r.json && r.json.amount === -1250, '2s');
  assert.equal(got.offset, ack.offset);
  assert.equal(got.key, 'a1');
  assert.equal(bus.browse('drill.events').length, 1);
  expectFlow({kind: 'publish', topic: 'drill.events'}, '2s');

  store.cql("CREATE KEYSPACE IF NOT EXISTS drill WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}");
  store.cql('CREATE TABLE IF NOT EXISTS drill.balances (account text PRIMARY KEY, minor bigint)');
  store.cql('INSERT INTO drill.balances (account, minor) VALUES (?, ?)', ['a1', 1250], 'QUORUM');
  assert.deepEqual(store.cql('SELECT account, minor FROM drill.balances WHERE account = ?', ['a1'], 'ALL').rows,
                   [{account: 'a1', minor: 1250}]);
  const views = store.replicas('drill', 'balances', 'a1');
  assert.equal(views.length, 3);
  views.forEach(v => assert.deepEqual(v.rows, [{minor: 1250}], 'node ' + v.node));

  // Two of three replicas down: Cassandra's Unavailable, by name.
  store.nodeDown(views[0].node);
  store.nodeDown(views[1].node);
  const err = assert.throws(() => store.cql('INSERT INTO drill.balances (account, minor) VALUES (?, ?)', ['a2', 1], 'QUORUM'), 'Unavailable');
  assert.ok(err.message.indexOf('Unavailable') >= 0);

  faults.add({id: 'ledger-down', destination: 'ledger', action: 'fail', code: 'UNAVAILABLE'});
  const refused = rpc('ledger.Echo', {text: 'x'}, {allowError: true});
  assert.equal(refused.code, 'UNAVAILABLE');
  assert.equal(faults.list().length, 1);
  services.stop('feed');
  clock.advance('1h');
});

scenario('starts from a reset bank', () => {
  assert.deepEqual(faults.list(), [], 'faults cleared');
  assert.ok(store.nodes().every(n => n.up), 'every store node up');
  assert.deepEqual(store.cql('SELECT * FROM drill.balances WHERE account = ?', ['a1'], 'ALL').rows, [], 'table truncated');
  assert.equal(bus.browse('drill.events', {from: 'earliest'}).length, 0, 'topic emptied');
  assert.ok(services.list('feed').every(i => i.state === 'healthy' || i.state === 'running'), 'feed started again');
  assert.equal(rpc('ledger.Echo', {text: 'back'}).text, 'back');
  store.cql('INSERT INTO drill.balances (account, minor) VALUES (?, ?)', ['bad', -1], 'ALL');
});

scenario('a wait that times out shows the trace', () => {
  rpc('account.Echo', {text: 'before the wait'});
  waitFor(() => false, '50ms', 'a feed item that never comes');
}); 
)JS";

TEST(ScenarioRunnerTest, RunsScenariosAgainstTheSkeletonBankAndReportsThem) {
  fs::path dir = fs::temp_directory_path() / ("sandbank-run-test-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "drill.js") << kScript;

  RunOptions o;
  o.paths = {(dir / "drill.js").string()};
  o.junit_path = (dir / "junit.xml").string();
  o.html_path = (dir / "report.html").string();
  o.record_path = (dir / "run.db").string();
  o.manifest_path = SANDBANK_SOURCE_DIR "/manifests/skeleton-bank.yaml";
  o.bin_dir = SANDBANK_BIN_DIR;
  o.state_file = (dir / "state/run.json").string();
  o.seed = 5;
  o.ready_timeout = std::chrono::seconds(30);
  // A checker that finds a violation when drill.balances holds a negative balance: the
  // third scenario writes one, so it must fail through the Check RPC. It also counts the
  // scenario rows already in the recording when it runs (after each scenario, before
  // that scenario's own row), to show rows land while the run goes on.
  std::vector<size_t> rows_seen_during_run;
  const std::string record_path = o.record_path;
  o.make_checker = [&rows_seen_during_run, record_path](control::Simulator& sim) -> control::InvariantChecker {
    return [&sim, &rows_seen_during_run, record_path](const control::CheckSpec&) -> Result<control::CheckOutcome> {
      if (sim.recorder() != nullptr && sim.recorder()->flush().ok()) {
        auto live = flow::RecordingFlowQuery::open(record_path);
        if (live.ok()) {
          auto rows = (*live)->scenarios();
          if (rows.ok()) rows_seen_during_run.push_back(rows->size());
        }
      }
      control::CheckOutcome out;
      out.invariants = {4};
      store::Session session(sim.store());
      store::QueryOptions q;
      q.ctx.consistency = store::ConsistencyLevel::kAll;
      auto rows = session.execute("SELECT account, minor FROM drill.balances WHERE account = 'bad'", {}, q);
      if (rows.ok()) {
        for (const auto& r : rows->rows)
          if (r[1].i < 0) out.violations.push_back({4, "account " + r[0].s, "negative balance", "", {}});
      }
      return out;
    };
  };
  std::ostringstream out, err;
  o.out = &out;
  o.err = &err;

  int rc = runScenarios(o);
  const std::string text = out.str();
  EXPECT_EQ(rc, 1) << text << err.str();
  EXPECT_THAT(text, HasSubstr("[1/4] drill: echo through the mesh\n    passed"));
  EXPECT_THAT(text, HasSubstr("[2/4] drill: bus and store round trip\n    passed"));
  EXPECT_THAT(text, HasSubstr("[3/4] drill: starts from a reset bank\n    failed"));
  EXPECT_THAT(text, HasSubstr("bank invariants violated after the scenario:"));
  EXPECT_THAT(text, HasSubstr("account bad"));
  EXPECT_THAT(text, HasSubstr("[4/4] drill: a wait that times out shows the trace\n    failed"));
  EXPECT_THAT(text, HasSubstr("waitFor a feed item that never comes timed out after 50ms"));
  EXPECT_THAT(text, HasSubstr("flow of trace "));
  EXPECT_THAT(text, HasSubstr("account"));  // the diagram's participant
  EXPECT_THAT(text, HasSubstr("2 passed, 2 failed"));

  const std::string junit = readAll(dir / "junit.xml");
  EXPECT_THAT(junit, HasSubstr("tests=\"4\" failures=\"2\" errors=\"0\""));
  EXPECT_THAT(junit, HasSubstr("<testcase classname=\"drill\" name=\"echo through the mesh\""));
  EXPECT_THAT(junit, HasSubstr("<failure message=\"" + (dir / "drill.js").string() + ":"));

  const std::string html = readAll(dir / "report.html");
  EXPECT_THAT(html, HasSubstr("2 passed, 2 failed"));
  EXPECT_THAT(html, HasSubstr("<svg"));
  EXPECT_THAT(html, HasSubstr("rpc ledger.Echo"));

  // The check after scenario N saw the rows of the N-1 before it.
  EXPECT_EQ(rows_seen_during_run, (std::vector<size_t>{0, 1, 2, 3}));
  auto rec = flow::RecordingFlowQuery::open((dir / "run.db").string());
  ASSERT_TRUE(rec.ok()) << rec.status().toString();
  auto rows = (*rec)->scenarios();
  ASSERT_TRUE(rows.ok()) << rows.status().toString();
  ASSERT_EQ(rows->size(), 4u);
  EXPECT_EQ((*rows)[0].name, "drill/echo through the mesh");
  EXPECT_EQ((*rows)[0].status, "passed");
  EXPECT_EQ((*rows)[3].status, "failed");
  EXPECT_FALSE((*rows)[3].trace_id.empty());
  fs::remove_all(dir);
}

TEST(ScenarioRunnerTest, LibraryReplicaScenariosPassOnTheSkeletonBank) {
  // The RF=3 scenarios use their own keyspace, so they need no bank service.
  fs::path dir = fs::temp_directory_path() / ("sandbank-run-rf-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  RunOptions o;
  o.paths = {SANDBANK_SOURCE_DIR "/scenarios/store_replicas.js"};
  o.filter = "RF=3";
  o.manifest_path = SANDBANK_SOURCE_DIR "/manifests/skeleton-bank.yaml";
  o.bin_dir = SANDBANK_BIN_DIR;
  o.state_file = (dir / "state/run.json").string();
  o.ready_timeout = std::chrono::seconds(30);
  std::ostringstream out, err;
  o.out = &out;
  o.err = &err;
  EXPECT_EQ(runScenarios(o), 0) << out.str() << err.str();
  EXPECT_THAT(out.str(), HasSubstr("2 passed, 0 failed"));
  fs::remove_all(dir);
}

// The whole library against the reference bank (bank.yaml). Its services are built
// elsewhere, so this runs only when SANDBANK_BANK_BIN_DIR names a folder holding them and
// sandbank.desc; SANDBANK_BANK_FILTER narrows it. Without a checker: sim/cli owns it.
TEST(ScenarioRunnerTest, LibraryAgainstTheReferenceBank) {
  const char* bin = std::getenv("SANDBANK_BANK_BIN_DIR");
  if (bin == nullptr) GTEST_SKIP() << "set SANDBANK_BANK_BIN_DIR to a build/bin holding the bank's services";
  fs::path dir = fs::temp_directory_path() / ("sandbank-run-bank-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  RunOptions o;
  o.paths = {SANDBANK_SOURCE_DIR "/scenarios"};
  if (const char* f = std::getenv("SANDBANK_BANK_FILTER")) o.filter = f;
  o.manifest_path = SANDBANK_SOURCE_DIR "/bank.yaml";
  o.bin_dir = bin;
  o.state_file = (dir / "state/run.json").string();
  o.junit_path = (dir / "junit.xml").string();
  int rc = runScenarios(o);
  fs::remove_all(dir);
  EXPECT_EQ(rc, 0);
}

TEST(ScenarioRunnerTest, BadFilterAndMissingFilesAreUsageErrors) {
  std::ostringstream out, err;
  RunOptions o;
  o.out = &out;
  o.err = &err;
  o.paths = {"/nonexistent/scenario.js"};
  EXPECT_EQ(runScenarios(o), 2);
  EXPECT_THAT(err.str(), HasSubstr("no such file or folder: /nonexistent/scenario.js"));
  fs::path dir = fs::temp_directory_path() / ("sandbank-run-filter-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "a.js") << "scenario('x', () => {});\n";
  o.paths = {dir.string()};
  o.filter = "(";
  EXPECT_EQ(runScenarios(o), 2);
  EXPECT_THAT(err.str(), HasSubstr("is not a regular expression"));
  o.filter = "nothing-matches-this";
  EXPECT_EQ(runScenarios(o), 2);
  EXPECT_THAT(err.str(), HasSubstr("no scenario matches"));
  fs::remove_all(dir);
}

// The same drill through makeRemoteLink: the bank runs in this process, but the runner
// only has its run-state file, so every operation goes over the control port (Control,
// Bus and Store) as it would against `sandbank up`. Same verdicts, same messages; the
// first scenario starts from a reset too, as an attached bank's state is unknown.
TEST(ScenarioRunnerTest, TheDrillGivesTheSameVerdictsOverTheControlPort) {
  fs::path dir = fs::temp_directory_path() / ("sandbank-run-attach-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "drill.js") << kScript;
  control::SimulatorOptions so;
  so.manifest_path = SANDBANK_SOURCE_DIR "/manifests/skeleton-bank.yaml";
  so.bin_dir = SANDBANK_BIN_DIR;
  so.state_file = (dir / "state/run.json").string();
  auto sim = control::Simulator::create(so);
  ASSERT_TRUE(sim.ok()) << sim.status().toString();
  control::Simulator& bank = **sim;
  bank.setChecker([&bank](const control::CheckSpec&) -> Result<control::CheckOutcome> {
    control::CheckOutcome out;
    out.invariants = {4};
    store::Session session(bank.store());
    store::QueryOptions q;
    q.ctx.consistency = store::ConsistencyLevel::kAll;
    auto rows = session.execute("SELECT account, minor FROM drill.balances WHERE account = 'bad'", {}, q);
    if (rows.ok())
      for (const auto& r : rows->rows)
        if (r[1].i < 0) out.violations.push_back({4, "account " + r[0].s, "negative balance", "", {}});
    return out;
  });
  ASSERT_TRUE(bank.up().ok());
  ASSERT_TRUE(bank.supervisor().waitUntilReady(std::chrono::seconds(30)).ok());

  RunOptions o;
  o.paths = {(dir / "drill.js").string()};
  o.attach_state_file = so.state_file;
  o.bin_dir = SANDBANK_BIN_DIR;
  o.seed = 5;
  o.ready_timeout = std::chrono::seconds(30);
  o.junit_path = (dir / "junit.xml").string();
  std::ostringstream out, err;
  o.out = &out;
  o.err = &err;
  int rc = runScenarios(o);
  const std::string text = out.str();
  EXPECT_EQ(rc, 1) << text << err.str();
  EXPECT_THAT(text, HasSubstr("attached to the bank of " + so.state_file));
  EXPECT_THAT(text, HasSubstr("[1/4] drill: echo through the mesh\n    passed"));
  EXPECT_THAT(text, HasSubstr("[2/4] drill: bus and store round trip\n    passed"));
  EXPECT_THAT(text, HasSubstr("[3/4] drill: starts from a reset bank\n    failed"));
  EXPECT_THAT(text, HasSubstr("account bad"));
  EXPECT_THAT(text, HasSubstr("[4/4] drill: a wait that times out shows the trace\n    failed"));
  EXPECT_THAT(text, HasSubstr("flow of trace "));
  EXPECT_THAT(text, HasSubstr("2 passed, 2 failed"));
  EXPECT_THAT(readAll(dir / "junit.xml"), HasSubstr("tests=\"4\" failures=\"2\" errors=\"0\""));
  // The bank outlives the run: still up and serving.
  EXPECT_TRUE(bank.supervisor().waitUntilReady(std::chrono::seconds(30)).ok());
  bank.stop();
  fs::remove_all(dir);
}

TEST(ScenarioRunnerTest, AttachingWithoutABankOrWithARecordingIsRefused) {
  fs::path dir = fs::temp_directory_path() / ("sandbank-run-noattach-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "a.js") << "scenario('x', () => {});\n";
  std::ostringstream out, err;
  RunOptions o;
  o.out = &out;
  o.err = &err;
  o.paths = {(dir / "a.js").string()};
  o.bin_dir = SANDBANK_BIN_DIR;
  o.attach_state_file = (dir / "none/run.json").string();
  EXPECT_EQ(runScenarios(o), 1);
  EXPECT_THAT(err.str(), HasSubstr("cannot attach to the bank of " + o.attach_state_file));
  EXPECT_THAT(err.str(), HasSubstr("sandbank up"));
  o.record_path = (dir / "run.db").string();
  EXPECT_EQ(runScenarios(o), 2);
  EXPECT_THAT(err.str(), HasSubstr("--record needs the in-process bank"));
  EXPECT_FALSE(fs::exists(dir / "run.db"));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace sandbank::scenario
