// Manifest parsing: every mistake gets file:line and what was expected, and a bad
// manifest yields no services at all.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sandbank/supervisor/manifest.h"

namespace sandbank::supervisor {
namespace {

using ::testing::HasSubstr;

Result<Manifest> parse(const std::string& text) { return parseManifest(text, "bank.yaml", "/srv/bank"); }

std::string errorOf(const std::string& text) {
  auto m = parse(text);
  EXPECT_FALSE(m.ok()) << "expected an error for:\n" << text;
  return m.ok() ? "" : m.status().message();
}

TEST(Manifest, ParsesEveryField) {
  auto m = parse(R"(
name: demo
services:
  ledger:
    command: /bin/true
    args: ["--port", "0"]
    env: {MODE: fast, LIMIT: 3}
    health: {type: tcp, interval: 2s, start_interval: 5ms, timeout: 500ms, retries: 2, start_period: 10s}
    restart: {policy: on-failure, max_retries: 4, backoff: 50ms, max_backoff: 1s, multiplier: 3}
    replicas: 2
    stop_grace: 1500ms
  edge:
    command: bin/edge
    depends_on:
      ledger: {condition: started}
    restart: always
)");
  ASSERT_TRUE(m.ok()) << m.status().toString();
  EXPECT_EQ(m->name, "demo");
  ASSERT_EQ(m->services.size(), 2u);
  const ServiceSpec& l = m->services[0];
  EXPECT_EQ(l.args, (std::vector<std::string>{"--port", "0"}));
  EXPECT_EQ(l.env.at("LIMIT"), "3");
  EXPECT_EQ(l.health.type, HealthType::kTcp);
  EXPECT_EQ(l.health.timeout, std::chrono::milliseconds(500));
  EXPECT_EQ(l.health.retries, 2);
  EXPECT_EQ(l.restart.kind, RestartPolicyKind::kOnFailure);
  EXPECT_EQ(l.restart.max_retries, 4);
  EXPECT_EQ(l.restart.multiplier, 3.0);
  EXPECT_EQ(l.replicas, 2);
  EXPECT_EQ(l.stop_grace, std::chrono::milliseconds(1500));
  EXPECT_EQ(l.working_dir, "/srv/bank");
  const ServiceSpec& e = m->services[1];
  ASSERT_EQ(e.depends_on.size(), 1u);
  EXPECT_EQ(e.depends_on[0].condition, DependencyCondition::kStarted);
  EXPECT_EQ(e.restart.kind, RestartPolicyKind::kAlways);
  EXPECT_EQ(e.line, 12);
}

TEST(Manifest, UnknownKeyNamesLineAndSuggestsTheClosestKey) {
  std::string err = errorOf("services:\n  ledger:\n    command: x\n    depend_on: [a]\n");
  EXPECT_THAT(err, HasSubstr("bank.yaml:4:"));
  EXPECT_THAT(err, HasSubstr("unknown key 'depend_on'"));
  EXPECT_THAT(err, HasSubstr("did you mean 'depends_on'?"));
}

TEST(Manifest, UnknownTopLevelKeyIsAnError) {
  EXPECT_THAT(errorOf("servics:\n  a: {command: x}\n"), HasSubstr("did you mean 'services'?"));
}

TEST(Manifest, YamlSyntaxErrorHasLine) {
  std::string err = errorOf("services:\n  ledger:\n    command: [x\n    args: 1\n");
  EXPECT_THAT(err, HasSubstr("bank.yaml:"));
  EXPECT_THAT(err, HasSubstr("YAML syntax error"));
}

TEST(Manifest, MissingCommandIsAnError) {
  EXPECT_THAT(errorOf("services:\n  ledger:\n    args: [a]\n"), HasSubstr("bank.yaml:2: service 'ledger' has no command"));
}

TEST(Manifest, BadTypesSayWhatWasExpected) {
  EXPECT_THAT(errorOf("services:\n  a:\n    command: x\n    args: notalist\n"),
              HasSubstr("bank.yaml:4: expected args to be a list of strings"));
  EXPECT_THAT(errorOf("services:\n  a:\n    command: x\n    replicas: many\n"),
              HasSubstr("expected replicas to be an integer, got 'many'"));
  EXPECT_THAT(errorOf("services:\n  a:\n    command: x\n    replicas: -1\n"), HasSubstr("at least 0"));
  EXPECT_THAT(errorOf("services:\n  a:\n    command: x\n    stop_grace: soon\n"), HasSubstr("bank.yaml:4: stop_grace"));
  EXPECT_THAT(errorOf("services:\n  a:\n    command: x\n    health: {type: http}\n"),
              HasSubstr("expected health to be grpc, tcp, none"));
}

TEST(Manifest, BadRestartPolicySuggestsAValidOne) {
  std::string err = errorOf("services:\n  a:\n    command: x\n    restart: on-failur\n");
  EXPECT_THAT(err, HasSubstr("bank.yaml:4: unknown restart policy 'on-failur' (did you mean 'on-failure'?)"));
}

TEST(Manifest, UnknownDependencyIsAnErrorWithHint) {
  std::string err = errorOf("services:\n  ledger: {command: x}\n  edge:\n    command: x\n    depends_on: [ledgr]\n");
  EXPECT_THAT(err, HasSubstr("bank.yaml:3: service 'edge' depends on unknown service 'ledgr' (did you mean 'ledger'?)"));
}

TEST(Manifest, DependencyCycleIsReportedAsAPath) {
  std::string err = errorOf(
      "services:\n  a: {command: x, depends_on: [b]}\n  b: {command: x, depends_on: [c]}\n  c: {command: x, depends_on: [a]}\n");
  EXPECT_THAT(err, HasSubstr("dependency cycle: a -> b -> c -> a"));
}

TEST(Manifest, UnknownVariableIsAnError) {
  EXPECT_THAT(errorOf("services:\n  a: {command: '${NO_SUCH_VARIABLE_HERE}/x'}\n"),
              HasSubstr("unknown variable ${NO_SUCH_VARIABLE_HERE}"));
}

TEST(Manifest, VariablesExpandFromGivenValues) {
  auto m = parseManifest("services:\n  a: {command: '${BIN}/echo', env: {D: '${BIN}'}}\n", "m.yaml", "/", {{"BIN", "/opt/sb"}});
  ASSERT_TRUE(m.ok()) << m.status().toString();
  EXPECT_EQ(m->services[0].command, "/opt/sb/echo");
  EXPECT_EQ(m->services[0].env.at("D"), "/opt/sb");
}

TEST(Manifest, MergeKeysShareDefaultsAndOwnKeysWin) {
  auto m = parse(R"(
x-defaults: &d
  command: echo-service
  replicas: 2
services:
  a: {<<: *d}
  b: {<<: *d, replicas: 3}
)");
  ASSERT_TRUE(m.ok()) << m.status().toString();
  EXPECT_EQ(m->services[0].command, "echo-service");
  EXPECT_EQ(m->services[0].replicas, 2);
  EXPECT_EQ(m->services[1].replicas, 3);
}

TEST(Manifest, StartOrderPutsDependenciesFirst) {
  auto m = parse(R"(
services:
  edge: {command: x, depends_on: [card, ledger]}
  card: {command: x, depends_on: [account]}
  ledger: {command: x}
  account: {command: x}
)");
  ASSERT_TRUE(m.ok());
  auto order = m->startOrder();
  auto pos = [&](const std::string& n) { return std::find(order.begin(), order.end(), n) - order.begin(); };
  EXPECT_LT(pos("account"), pos("card"));
  EXPECT_LT(pos("card"), pos("edge"));
  EXPECT_LT(pos("ledger"), pos("edge"));
  EXPECT_EQ(order.size(), 4u);
}

TEST(Manifest, EmptyOrMissingServicesIsAnError) {
  EXPECT_THAT(errorOf(""), HasSubstr("empty"));
  EXPECT_THAT(errorOf("name: x\n"), HasSubstr("no 'services'"));
}

// Bad input the manifest fuzz target checks for: 4294967295 replicas wrapped to -1 and
// was accepted, and a "nan" multiplier passed the "at least 1" check (NaN compares false).
TEST(Manifest, NumbersThatDoNotFitOrAreNotFiniteAreErrors) {
  auto service = [](const std::string& settings) {
    return "services:\n  a:\n    command: /bin/true\n" + settings;
  };
  EXPECT_THAT(errorOf(service("    replicas: 4294967295\n")), HasSubstr("replicas must be at most 2147483647"));
  EXPECT_THAT(errorOf(service("    replicas: 99999999999999999999\n")), HasSubstr("at most"));
  EXPECT_THAT(errorOf(service("    restart: {policy: always, max_retries: 4294967296}\n")),
              HasSubstr("restart.max_retries must be at most"));
  EXPECT_THAT(errorOf(service("    restart: {policy: always, multiplier: nan}\n")),
              HasSubstr("expected restart.multiplier to be a number, got 'nan'"));
  EXPECT_THAT(errorOf(service("    restart: {policy: always, multiplier: inf}\n")), HasSubstr("got 'inf'"));
  auto ok = parse(service("    replicas: 2147483647\n    restart: {policy: always, multiplier: 1.5}\n"));
  ASSERT_TRUE(ok.ok()) << ok.status().toString();
  EXPECT_EQ(ok->services[0].replicas, 2147483647);
  EXPECT_DOUBLE_EQ(ok->services[0].restart.multiplier, 1.5);
}

TEST(ResolveCommand, FindsBareNamesInSearchDirsThenPath) {
  auto sh = resolveCommand("sh", "/nonexistent", {});
  ASSERT_TRUE(sh.ok()) << sh.status().toString();
  EXPECT_THAT(*sh, HasSubstr("/sh"));
  auto missing = resolveCommand("no-such-command-xyz", "/", {"/tmp"});
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("not found"));
  EXPECT_FALSE(resolveCommand("./nope", "/tmp", {}).ok());
}

}  // namespace
}  // namespace sandbank::supervisor
