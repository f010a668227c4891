// End-to-end runs of LoadGenerator and runLoad against FakeEdge: the requests the edge
// sees match the plan, failures are counted by code and status, retransmissions repeat
// the scheme_message_id, acknowledged movements are reported, and progress is printed.
// Assertions are on counts, never on elapsed time.
#include "sandbank/load/load_generator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include <boost/asio/ip/tcp.hpp>

#include "fake_edge.h"

namespace sandbank::load {
namespace {

using json = nlohmann::json;
using testing::FakeEdge;
using testing::RecordedRequest;

LoadOptions fastRun(const std::string& edge) {
  LoadOptions o;
  o.customers = 6;
  o.rate = 4000;
  o.duration = std::chrono::milliseconds(150);  // 600 steps
  o.seed = 7;
  o.edge = edge;
  o.concurrency = 4;
  o.mix.retransmit_fraction = 0.3;
  o.mix.overspend_fraction = 0.1;
  return o;
}

std::map<std::string, const PlannedOp*> byKey(const std::vector<PlannedOp>& p) {
  std::map<std::string, const PlannedOp*> out;
  for (const auto& op : p) {
    if (!op.key.empty() && op.kind != OpKind::kCardRetransmit) out[op.key] = &op;
  }
  return out;
}

bool isHex(std::string_view s) { return !s.empty() && s.find_first_not_of("0123456789abcdef") == std::string_view::npos; }

// "00-<32 hex>-<16 hex>-01"
bool isTraceparent(std::string_view t) {
  return t.size() == 55 && t.substr(0, 3) == "00-" && isHex(t.substr(3, 32)) && t[35] == '-' &&
         isHex(t.substr(36, 16)) && t.substr(52) == "-01";
}

// "<s>s  ops <n>  rate <r>/s  errors <n> (<p>%)  p50 <latency>  p99 <latency>"
bool isProgressLine(std::string_view line) {
  size_t pos = 0;
  for (std::string_view part : {"s  ops ", "  rate ", "/s  errors ", "%)  p50 ", "s  p99 "}) {
    size_t at = line.find(part, pos);
    if (at == std::string_view::npos || at == pos) return false;
    pos = at + part.size();
  }
  return std::isdigit(static_cast<unsigned char>(line.front())) && line.size() > pos + 1 && line.back() == 's';
}

int64_t minorOf(const json& body) {
  const json& m = body["amount"]["minor_units"];
  return m.is_string() ? std::stoll(m.get<std::string>()) : m.get<int64_t>();
}

TEST(LoadGeneratorTest, RunSendsThePlannedRequestsAndCountsFailuresByCode) {
  FakeEdge edge(FakeEdge::Options{.fail_every = 9});
  LoadOptions o = fastRun(edge.address());
  std::vector<PlannedOp> p = plan(o);
  ASSERT_EQ(p.size(), 600u);
  size_t planned_retransmits = std::count_if(p.begin(), p.end(), [](const PlannedOp& op) {
    return op.kind == OpKind::kCardRetransmit;
  });
  ASSERT_GT(planned_retransmits, 0u) << "the mix must plan some retransmissions for this test";

  LoadGenerator gen(o);
  ASSERT_TRUE(gen.start().ok());
  gen.wait();
  ASSERT_TRUE(gen.finished());
  LoadReport report = gen.report();
  const LoadStats& s = report.stats;
  std::vector<RecordedRequest> seen = edge.requests();

  // Every planned step was either sent once or skipped because what it needed failed.
  EXPECT_FALSE(s.running);
  EXPECT_EQ(s.planned, 600u);
  EXPECT_EQ(s.attempted + s.skipped, p.size());
  EXPECT_EQ(s.requests, seen.size());
  EXPECT_EQ(s.attempted, seen.size());
  EXPECT_EQ(s.ok + s.declined + s.failed, s.attempted);
  EXPECT_EQ(s.kind(OpKind::kSignup).ok, 6u);

  // The edge's answers and the generator's counts agree, code by code.
  uint64_t answered_503 = 0, answered_ok = 0, answered_declined = 0, answered_other = 0;
  for (const auto& r : seen) {
    if (r.status == 503) {
      ++answered_503;
    } else if (r.status == 422 || r.declined) {
      ++answered_declined;
    } else if (r.status >= 200 && r.status < 300) {
      ++answered_ok;
    } else {
      ++answered_other;
      ADD_FAILURE() << r.method << " " << r.target << " -> " << r.status << " " << r.body;
    }
  }
  EXPECT_EQ(answered_other, 0u);
  ASSERT_GT(answered_503, 0u);
  EXPECT_EQ(s.failed, answered_503);
  EXPECT_EQ(s.failures_by_code.at("unavailable"), answered_503);
  EXPECT_EQ(s.failures_by_status.at(503), answered_503);
  EXPECT_EQ(s.failures_by_code.size(), 1u);
  EXPECT_EQ(s.ok, answered_ok);
  EXPECT_EQ(s.declined, answered_declined);
  EXPECT_GT(s.declined, 0u);
  EXPECT_GT(s.skipped, 0u) << "clears of failed authorises are skipped";
  EXPECT_EQ(s.retransmit_mismatches, 0u);
  EXPECT_GT(s.p50.count(), 0);
  EXPECT_LE(s.p50, s.p99);
  EXPECT_LE(s.p99, s.max);

  // Bodies carry the planned keys, amounts and the card token issued to that customer.
  auto planned = byKey(p);
  std::map<std::string, std::string> email_of_customer;
  for (const auto& op : p) {
    if (op.kind == OpKind::kSignup) email_of_customer[std::to_string(op.customer)] = op.key;
  }
  std::map<std::string, std::vector<std::string>> authorise_bodies;  // by scheme_message_id
  std::map<std::string, std::string> auth_id_of_message;             // from successful answers
  for (const auto& r : seen) {
    json body = json::parse(r.body.empty() ? "{}" : r.body);
    if (r.target == "/v1/signup") {
      ASSERT_TRUE(planned.count(body["email"].get<std::string>())) << r.body;
      EXPECT_FALSE(body["name"].get<std::string>().empty());
      EXPECT_FALSE(body["password"].get<std::string>().empty());
    } else if (r.target == "/scheme/card/authorise") {
      std::string id = body["scheme_message_id"];
      ASSERT_TRUE(planned.count(id)) << "unplanned scheme_message_id " << id;
      const PlannedOp& op = *planned[id];
      EXPECT_EQ(op.kind, OpKind::kCardAuthorise);
      EXPECT_EQ(minorOf(body), op.amount_minor);
      EXPECT_EQ(body["card_token"], edge.cardTokenFor(email_of_customer[std::to_string(op.customer)]));
      EXPECT_EQ(body["merchant"]["merchant_id"], merchants()[static_cast<size_t>(op.merchant)].merchant_id);
      EXPECT_EQ(r.headers.at("x-scheme-key"), "sandbank-scheme");
      const PlannedOp* sent_by = &op;
      for (const auto& other : p) {  // the retransmission, when this is the second copy
        if (other.kind == OpKind::kCardRetransmit && other.key == id &&
            r.headers.at("traceparent").find(other.trace_id) != std::string::npos) {
          sent_by = &other;
        }
      }
      EXPECT_TRUE(isTraceparent(r.headers.at("traceparent"))) << r.headers.at("traceparent");
      EXPECT_EQ(r.headers.at("traceparent").substr(3, 32), sent_by->trace_id);
      authorise_bodies[id].push_back(r.body);
    } else if (r.target == "/scheme/card/clear" || r.target == "/v1/transfers" || r.target == "/v1/payments" ||
               r.target == "/scheme/fps/inbound") {
      std::string key = body.contains("idempotency_key") ? body["idempotency_key"].get<std::string>()
                        : body.contains("payment_id")     ? body["payment_id"].get<std::string>()
                                                          : body["scheme_message_id"].get<std::string>();
      ASSERT_TRUE(planned.count(key)) << r.target << " " << r.body;
      EXPECT_EQ(minorOf(body), planned[key]->amount_minor) << r.target;
    }
  }

  // A retransmission repeats the original request byte for byte.
  size_t retransmitted = 0;
  for (const auto& op : p) {
    if (op.kind != OpKind::kCardRetransmit) continue;
    const auto& bodies = authorise_bodies[op.key];
    ASSERT_EQ(bodies.size(), 2u) << op.key;
    EXPECT_EQ(bodies[0], bodies[1]);
    ++retransmitted;
  }
  EXPECT_EQ(retransmitted, planned_retransmits);
  EXPECT_EQ(s.kind(OpKind::kCardRetransmit).attempted, planned_retransmits);

  // Every acknowledged movement is one the edge answered with success, and the
  // clears name the authorisation the edge gave their authorise.
  std::map<std::string, int> ok_answers_by_key;
  for (const auto& r : seen) {
    if (r.status < 200 || r.status >= 300 || r.declined || r.body.empty()) continue;
    json body = json::parse(r.body);
    for (const char* f : {"idempotency_key", "scheme_message_id", "payment_id"}) {
      if (body.contains(f)) ++ok_answers_by_key[body[f].get<std::string>()];
    }
  }
  size_t money_answers = 0;
  for (const auto& r : seen) {
    bool moves = r.method == "POST" && r.target != "/v1/signup" &&
                 !(r.target.size() > 5 && r.target.compare(r.target.size() - 5, 5, "/pots") == 0);
    if (moves && r.status >= 200 && r.status < 300 && !r.declined) ++money_answers;
  }
  EXPECT_EQ(report.movements.size(), money_answers);
  for (const auto& m : report.movements) {
    EXPECT_GE(ok_answers_by_key[m.key], 1) << m.key;
    EXPECT_FALSE(m.account_id.empty());
    EXPECT_EQ(m.currency, "GBP");
    EXPECT_EQ(m.trace_id, p[m.step].trace_id);
    if (m.kind == OpKind::kCardAuthorise) {
      EXPECT_TRUE(m.ids.count("hold_id")) << m.key;
    }
    if (m.kind == OpKind::kCardClear) {
      EXPECT_TRUE(m.ids.count("entryset_id")) << m.key;
    }
    if (m.kind == OpKind::kTransfer) {
      EXPECT_EQ(m.ids.at("state"), "TRANSFER_COMPLETED");
    }
  }
  ASSERT_EQ(report.customers.size(), 6u);
  for (const auto& c : report.customers) {
    EXPECT_TRUE(c.signed_up);
    EXPECT_EQ(edge.cardTokenFor(c.email).empty(), false) << c.email;
  }
}

TEST(LoadGeneratorTest, ReRunWithTheSameSeedSendsIdenticalRequestsAndLogsInInstead) {
  FakeEdge edge(FakeEdge::Options{});
  LoadOptions o = fastRun(edge.address());
  o.duration = std::chrono::milliseconds(100);

  auto run = [&] {
    LoadGenerator gen(o);
    EXPECT_TRUE(gen.start().ok());
    gen.wait();
    return gen.report();
  };
  LoadReport first = run();
  size_t first_count = edge.requests().size();
  LoadReport second = run();
  std::vector<RecordedRequest> seen = edge.requests();

  EXPECT_EQ(second.stats.kind(OpKind::kSignup).ok, 6u) << "sign-up answered 409 falls back to login";
  std::multiset<std::string> a, b;
  size_t conflicts = 0, logins = 0;
  for (size_t i = 0; i < seen.size(); ++i) {
    const auto& r = seen[i];
    if (i >= first_count && r.target == "/v1/signup") conflicts += r.status == 409;
    if (r.target == "/v1/signup" || r.target == "/v1/login" || r.method == "GET") {
      logins += i >= first_count && r.target == "/v1/login";
      continue;
    }
    (i < first_count ? a : b).insert(r.method + " " + r.target + " " + r.body);
  }
  EXPECT_EQ(conflicts, 6u);
  EXPECT_EQ(logins, 6u);
  EXPECT_FALSE(a.empty());
  EXPECT_EQ(a, b);
  EXPECT_EQ(second.stats.retransmit_mismatches, 0u);
  ASSERT_EQ(first.customers.size(), second.customers.size());
  for (size_t i = 0; i < first.customers.size(); ++i) {
    EXPECT_EQ(first.customers[i].account_id, second.customers[i].account_id);
  }
}

TEST(LoadGeneratorTest, StopEndsAnUnboundedRunAfterRequestsInFlightFinish) {
  FakeEdge edge(FakeEdge::Options{});
  LoadOptions o = fastRun(edge.address());
  o.duration = std::chrono::milliseconds(0);
  o.rate = 2000;
  LoadGenerator gen(o);
  ASSERT_TRUE(gen.start().ok());
  ASSERT_TRUE(edge.waitForRequests(50, std::chrono::seconds(30)));
  EXPECT_FALSE(gen.finished());
  EXPECT_TRUE(gen.snapshot().running);
  gen.stop();
  gen.wait();
  LoadStats s = gen.snapshot();
  EXPECT_FALSE(s.running);
  EXPECT_EQ(s.planned, 0u);
  EXPECT_GE(s.attempted, 50u);
  EXPECT_EQ(s.requests, edge.requests().size());
  EXPECT_EQ(gen.start().code(), StatusCode::kFailedPrecondition);
}

uint16_t closedPort() {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor acceptor(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
  return acceptor.local_endpoint().port();
}

TEST(LoadGeneratorTest, UnreachableEdgeFailsAtStartWithTheReason) {
  LoadOptions o = fastRun("127.0.0.1:" + std::to_string(closedPort()));
  LoadGenerator gen(o);
  Status st = gen.start();
  EXPECT_EQ(st.code(), StatusCode::kUnavailable);
  EXPECT_NE(st.message().find("not reachable"), std::string::npos) << st.message();

  std::ostringstream out;
  EXPECT_EQ(runLoad(o, out, false), 1);
  EXPECT_NE(out.str().find("not reachable"), std::string::npos) << out.str();
}

TEST(RunLoadTest, PrintsProgressLinesAndASummary) {
  FakeEdge edge(FakeEdge::Options{.fail_every = 5});
  LoadOptions o = fastRun(edge.address());
  std::ostringstream out;
  EXPECT_EQ(runLoad(o, out, /*tty=*/false), 0);
  std::string text = out.str();
  int progress_lines = 0;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) progress_lines += isProgressLine(line);
  EXPECT_GE(progress_lines, 1) << text;
  EXPECT_NE(text.find("card_authorise"), std::string::npos) << text;
  EXPECT_NE(text.find("failures by code:  unavailable"), std::string::npos) << text;
  EXPECT_NE(text.find("failures by HTTP status:  503"), std::string::npos) << text;
  EXPECT_NE(text.find("money movements acknowledged: "), std::string::npos) << text;
}

TEST(RunLoadTest, CancelFlagStopsAnUnboundedRunAndStillSummarises) {
  FakeEdge edge(FakeEdge::Options{});
  LoadOptions o = fastRun(edge.address());
  o.duration = std::chrono::milliseconds(0);
  o.rate = 2000;
  std::atomic<bool> cancel{false};
  std::thread canceller([&] {
    edge.waitForRequests(30, std::chrono::seconds(30));
    cancel.store(true);
  });
  std::ostringstream out;
  int rc = runLoad(o, out, /*tty=*/true, &cancel);
  canceller.join();
  EXPECT_EQ(rc, 0) << out.str();
  EXPECT_NE(out.str().find("until stopped"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("stopped early on request"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("\r"), std::string::npos) << "progress is rewritten in place on a tty";
}

TEST(RunLoadTest, ReturnsOneWhenNothingSucceeds) {
  // The edge is healthy but refuses everything, sign-ups included: each sign-up is tried
  // three times, then every step of that customer is skipped.
  FakeEdge edge(FakeEdge::Options{.fail_every = 1, .fail_signups = true});
  LoadOptions o = fastRun(edge.address());
  o.customers = 2;
  o.concurrency = 2;
  o.duration = std::chrono::milliseconds(10);  // 40 steps
  std::ostringstream out;
  EXPECT_EQ(runLoad(o, out, false), 1);
  EXPECT_NE(out.str().find("no operation succeeded"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("sign-ups retried: 4"), std::string::npos) << out.str();
  std::vector<RecordedRequest> seen = edge.requests();
  EXPECT_EQ(seen.size(), 6u);
  for (const auto& r : seen) EXPECT_EQ(r.target, "/v1/signup");
  EXPECT_NE(out.str().find("skipped 38"), std::string::npos) << out.str();
}

}  // namespace
}  // namespace sandbank::load
