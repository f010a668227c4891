// LoadGenerator: a dispatcher thread expands the plan into per-worker queues; each worker
// owns one EdgeConnection and runs its customers' operations when they fall due.
// Thread-safety: see the mutex named next to each piece of shared state in Impl.
#include "sandbank/load/load_generator.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdio>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "edge_client.h"

namespace sandbank::load {
namespace {

using json = nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

constexpr size_t kQueueCapacity = 4096;
constexpr int kSignupAttempts = 3;

enum class Outcome { kOk, kDeclined, kFailed, kSkipped };

// int64 fields arrive as JSON numbers or, from proto3 JSON, as strings.
std::optional<int64_t> int64Of(const json& v) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_unsigned()) return static_cast<int64_t>(v.get<uint64_t>());
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    try {
      size_t used = 0;
      long long n = std::stoll(s, &used);
      if (used == s.size()) return n;
    } catch (const std::exception&) {
    }
  }
  return std::nullopt;
}

std::string stringField(const json& obj, const char* name) {
  if (!obj.is_object()) return {};
  auto it = obj.find(name);
  if (it == obj.end()) return {};
  if (it->is_string()) return it->get<std::string>();
  if (auto n = int64Of(*it)) return std::to_string(*n);
  return {};
}

// Proto3 JSON enums come as names; accept the number as well.
bool enumIs(const json& obj, const char* field, std::string_view name, int number) {
  if (!obj.is_object()) return false;
  auto it = obj.find(field);
  if (it == obj.end()) return false;
  if (it->is_string()) return it->get_ref<const std::string&>() == name;
  if (auto n = int64Of(*it)) return *n == number;
  return false;
}

std::string pathSegment(std::string_view s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char ch : s) {
    if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
      out.push_back(static_cast<char>(ch));
    } else {
      out.push_back('%');
      out.push_back(kHex[ch >> 4]);
      out.push_back(kHex[ch & 15]);
    }
  }
  return out;
}

// What one request came to, before it is folded into the stats.
struct Attempt {
  Outcome outcome = Outcome::kFailed;
  int status = 0;
  std::string code;  // failure code or decline reason
  json body;         // the parsed answer when 2xx
};

Attempt classify(const Result<HttpResponse>& r) {
  Attempt a;
  if (!r.ok()) {
    a.code = r.status().code() == StatusCode::kDeadlineExceeded ? "timeout" : "transport";
    return a;
  }
  a.status = r->status;
  json parsed = json::parse(r->body, nullptr, /*allow_exceptions=*/false);
  if (a.status >= 200 && a.status < 300) {
    if (parsed.is_discarded() && !r->body.empty()) {
      a.code = "bad_response";
      return a;
    }
    a.outcome = Outcome::kOk;
    a.body = std::move(parsed);
    return a;
  }
  std::string code;
  if (!parsed.is_discarded() && parsed.is_object() && parsed.contains("error")) {
    code = stringField(parsed["error"], "code");
  }
  if (code.empty()) code = "http_" + std::to_string(a.status);
  a.code = code;
  a.outcome = a.status == 422 ? Outcome::kDeclined : Outcome::kFailed;
  return a;
}

json money(int64_t minor, const std::string& currency) {
  return json{{"minor_units", minor}, {"currency", currency}};
}

}  // namespace

struct LoadGenerator::Impl {
  struct CustomerRuntime {
    bool done = false;  // sign-up finished, one way or the other
    bool ok = false;
    std::string email, user_id, account_id, card_id, card_token, token;
  };

  struct WorkerQueue {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<PlannedOp> ops;  // guarded by mu
    bool closed = false;        // guarded by mu
  };

  // Per-worker memory of ids the bank handed out, by the step that received them. Only
  // the owning worker touches it: a customer's steps all run there.
  struct WorkerMemory {
    std::unordered_map<uint64_t, std::string> authorisations;
    std::unordered_map<uint64_t, std::string> pots;
  };

  explicit Impl(LoadOptions o) : options(std::move(o)) {}

  bool stopping() const { return stop_requested.load(std::memory_order_acquire); }

  // --- dispatcher -------------------------------------------------------------------
  void dispatch() {
    PlanGenerator gen(options);
    const uint64_t n = plannedOperationCount(options);
    for (uint64_t i = 0; (n == 0 || i < n) && !stopping(); ++i) {
      PlannedOp op = gen.next();
      WorkerQueue& q = *queues[static_cast<size_t>(op.customer % options.concurrency)];
      std::unique_lock lock(q.mu);
      q.cv.wait(lock, [&] { return q.ops.size() < kQueueCapacity || stopping(); });
      if (stopping()) break;
      q.ops.push_back(std::move(op));
      q.cv.notify_all();
    }
    for (auto& q : queues) {
      std::lock_guard lock(q->mu);
      q->closed = true;
      q->cv.notify_all();
    }
  }

  bool pop(WorkerQueue& q, PlannedOp* op) {
    std::unique_lock lock(q.mu);
    q.cv.wait(lock, [&] { return !q.ops.empty() || q.closed || stopping(); });
    if (stopping() || q.ops.empty()) return false;
    *op = std::move(q.ops.front());
    q.ops.pop_front();
    q.cv.notify_all();  // the dispatcher may wait for room
    return true;
  }

  // --- workers ----------------------------------------------------------------------
  void work(size_t index) {
    EdgeConnection conn(host, port, options.request_timeout);
    WorkerMemory memory;
    PlannedOp op;
    while (pop(*queues[index], &op)) {
      SteadyClock::time_point due = started_at + op.at;
      {
        std::unique_lock lock(wake_mu);
        wake_cv.wait_until(lock, due, [&] { return stopping(); });
      }
      if (stopping()) break;
      auto lag = SteadyClock::now() - due;
      {
        std::lock_guard lock(stats_mu);
        stats.lag = std::chrono::duration_cast<std::chrono::nanoseconds>(lag);
      }
      execute(op, conn, memory);
    }
    conn.close();
    std::lock_guard lock(done_mu);
    if (--workers_running == 0) {
      finished_at = SteadyClock::now();
      done = true;
      done_cv.notify_all();
    }
  }

  Result<HttpResponse> send(EdgeConnection& conn, std::string_view method, const std::string& target,
                            const json* body, const HttpHeaders& headers) {
    // Ids echoed from the bank could hold invalid UTF-8; replace rather than throw.
    std::string text = body ? body->dump(-1, ' ', false, json::error_handler_t::replace) : std::string();
    {
      std::lock_guard lock(stats_mu);
      ++stats.requests;
    }
    return conn.exchange(method, target, text, headers);
  }

  // `traceparent` for a step: its planned trace id and a span id from the step.
  static std::string traceparent(const PlannedOp& op) {
    char span[17];
    std::snprintf(span, sizeof span, "%016llx", static_cast<unsigned long long>(op.step + 1));
    return "00-" + op.trace_id + "-" + span + "-01";
  }
  static HttpHeaders customerHeaders(const CustomerRuntime& c, const std::string& tp) {
    return {{"Authorization", "Bearer " + c.token}, {"traceparent", tp}};
  }
  HttpHeaders schemeHeaders(const std::string& tp) const {
    return {{"X-Scheme-Key", options.scheme_key}, {"traceparent", tp}};
  }

  CustomerRuntime customer(int index) {
    std::lock_guard lock(customers_mu);
    return customers[static_cast<size_t>(index)];
  }

  // Waits until customer `index` has finished signing up (or the run stops).
  std::optional<CustomerRuntime> signedUp(int index) {
    std::unique_lock lock(customers_mu);
    customers_cv.wait(lock, [&] { return customers[static_cast<size_t>(index)].done || stopping(); });
    const CustomerRuntime& c = customers[static_cast<size_t>(index)];
    if (!c.done || !c.ok) return std::nullopt;
    return c;
  }

  void finishSignup(int index, std::optional<CustomerRuntime> result) {
    std::lock_guard lock(customers_mu);
    CustomerRuntime& c = customers[static_cast<size_t>(index)];
    if (result) c = std::move(*result);
    c.done = true;
    c.ok = result.has_value();
    customers_cv.notify_all();
  }

  // Sign-up, retried on unavailability; an email already taken (a re-run with the same
  // seed against the same bank) falls back to logging in and looking the account up.
  Attempt signup(const PlannedOp& op, EdgeConnection& conn) {
    std::string password = "pw-" + op.key;
    json body{{"name", op.reference}, {"email", op.key}, {"password", password}};
    Attempt a;
    for (int attempt = 0; attempt < kSignupAttempts; ++attempt) {
      a = classify(send(conn, "POST", "/v1/signup", &body, {{"traceparent", traceparent(op)}}));
      bool retryable = a.outcome == Outcome::kFailed &&
                       (a.status == 0 || a.status == 503 || a.status == 504);
      if (!retryable || attempt + 1 == kSignupAttempts) break;
      {
        std::lock_guard lock(stats_mu);
        ++stats.retries;
      }
      std::unique_lock lock(wake_mu);
      if (wake_cv.wait_for(lock, std::chrono::milliseconds(100 * (attempt + 1)), [&] { return stopping(); })) break;
    }
    CustomerRuntime c;
    c.email = op.key;
    if (a.outcome == Outcome::kOk) {
      c.user_id = stringField(a.body, "user_id");
      c.account_id = stringField(a.body, "account_id");
      c.card_id = stringField(a.body, "card_id");
      c.card_token = stringField(a.body, "card_token");
      c.token = stringField(a.body, "token");
      if (c.account_id.empty() || c.card_token.empty() || c.token.empty()) {
        a.outcome = Outcome::kFailed;
        a.code = "bad_response";
      }
    } else if (a.status == 409) {
      a = loginInstead(op.key, password, traceparent(op), conn, &c);
    }
    std::optional<CustomerRuntime> result;
    if (a.outcome == Outcome::kOk) result = c;
    finishSignup(op.customer, result);
    return a;
  }

  Attempt loginInstead(const std::string& email, const std::string& password, const std::string& tp,
                       EdgeConnection& conn, CustomerRuntime* c) {
    json body{{"email", email}, {"password", password}};
    Attempt a = classify(send(conn, "POST", "/v1/login", &body, {{"traceparent", tp}}));
    if (a.outcome != Outcome::kOk) return a;
    c->token = stringField(a.body, "token");
    c->user_id = stringField(a.body, "user_id");
    a = classify(send(conn, "GET", "/v1/accounts", nullptr, customerHeaders(*c, tp)));
    if (a.outcome != Outcome::kOk) return a;
    if (a.body.contains("accounts") && a.body["accounts"].is_array() && !a.body["accounts"].empty()) {
      c->account_id = stringField(a.body["accounts"][0], "account_id");
    }
    if (c->account_id.empty()) return Attempt{Outcome::kFailed, a.status, "bad_response", {}};
    a = classify(send(conn, "GET", "/v1/accounts/" + pathSegment(c->account_id) + "/cards", nullptr,
                      customerHeaders(*c, tp)));
    if (a.outcome != Outcome::kOk) return a;
    if (a.body.contains("cards") && a.body["cards"].is_array() && !a.body["cards"].empty()) {
      c->card_id = stringField(a.body["cards"][0], "card_id");
      c->card_token = stringField(a.body["cards"][0], "token");
    }
    if (c->card_token.empty()) return Attempt{Outcome::kFailed, a.status, "bad_response", {}};
    return a;
  }

  void execute(const PlannedOp& op, EdgeConnection& conn, WorkerMemory& memory) {
    auto t0 = SteadyClock::now();
    if (op.kind == OpKind::kSignup) {
      Attempt a = signup(op, conn);
      record(op, a, SteadyClock::now() - t0, std::nullopt);
      return;
    }
    std::optional<CustomerRuntime> me = signedUp(op.customer);
    if (!me) return skip(op);

    const std::string& cur = options.currency;
    const std::string tp = traceparent(op);
    const std::string account = pathSegment(me->account_id);
    std::optional<MoneyMovement> movement;
    auto moved = [&](std::string counterparty) {
      MoneyMovement m;
      m.step = op.step;
      m.kind = op.kind;
      m.key = op.key;
      m.amount_minor = op.amount_minor;
      m.currency = cur;
      m.account_id = me->account_id;
      m.counterparty = std::move(counterparty);
      m.trace_id = op.trace_id;
      return m;
    };
    auto merchantJson = [&] {
      const Merchant& m = merchants()[static_cast<size_t>(op.merchant)];
      return json{{"merchant_id", m.merchant_id}, {"name", m.name}, {"category_code", m.category_code},
                  {"country", m.country}};
    };

    Attempt a;
    switch (op.kind) {
      case OpKind::kSignup:
        return;
      case OpKind::kGetPaid: {
        json body{{"payment_id", op.key}, {"account_id", me->account_id}, {"amount", money(op.amount_minor, cur)},
                  {"payer_name", op.reference}, {"reference", "Salary"}};
        a = classify(send(conn, "POST", "/scheme/fps/inbound", &body, schemeHeaders(tp)));
        if (a.outcome == Outcome::kOk && enumIs(a.body, "state", "PAYMENT_DECLINED", 4)) {
          declined(a, "reason");
        }
        if (a.outcome == Outcome::kOk) movement = moved(op.reference);
        break;
      }
      case OpKind::kCardAuthorise:
      case OpKind::kCardRetransmit: {
        json body{{"scheme_message_id", op.key}, {"card_token", me->card_token},
                  {"amount", money(op.amount_minor, cur)}, {"merchant", merchantJson()}};
        a = classify(send(conn, "POST", "/scheme/card/authorise", &body, schemeHeaders(tp)));
        if (a.outcome == Outcome::kOk && !enumIs(a.body, "decision", "APPROVED", 1)) declined(a, "decline_reason");
        if (a.outcome == Outcome::kOk) {
          std::string id = stringField(a.body, "authorisation_id");
          uint64_t original = op.kind == OpKind::kCardAuthorise ? op.step : static_cast<uint64_t>(op.depends_on);
          auto [it, inserted] = memory.authorisations.emplace(original, id);
          if (!inserted && it->second != id) {
            std::lock_guard lock(stats_mu);
            ++stats.retransmit_mismatches;
          }
          movement = moved(std::string(merchants()[static_cast<size_t>(op.merchant)].merchant_id));
          movement->retransmission = op.kind == OpKind::kCardRetransmit;
        }
        break;
      }
      case OpKind::kCardClear:
      case OpKind::kCardReverse: {
        auto it = memory.authorisations.find(static_cast<uint64_t>(op.depends_on));
        if (it == memory.authorisations.end()) return skip(op);
        std::string auth = it->second;
        memory.authorisations.erase(it);
        json body{{"scheme_message_id", op.key}, {"authorisation_id", auth}};
        if (op.kind == OpKind::kCardClear) body["amount"] = money(op.amount_minor, cur);
        const char* path = op.kind == OpKind::kCardClear ? "/scheme/card/clear" : "/scheme/card/reverse";
        a = classify(send(conn, "POST", path, &body, schemeHeaders(tp)));
        if (a.outcome == Outcome::kOk) {
          movement = moved(std::string(merchants()[static_cast<size_t>(op.merchant)].merchant_id));
          movement->ids["authorisation_id"] = auth;
        }
        break;
      }
      case OpKind::kTransfer: {
        std::optional<CustomerRuntime> to = signedUp(op.counterparty);
        if (!to) return skip(op);
        json body{{"idempotency_key", op.key}, {"from_account_id", me->account_id},
                  {"to_account_id", to->account_id}, {"amount", money(op.amount_minor, cur)},
                  {"reference", op.reference}};
        a = classify(send(conn, "POST", "/v1/transfers", &body, customerHeaders(*me, tp)));
        if (a.outcome == Outcome::kOk && enumIs(a.body, "state", "TRANSFER_DECLINED", 2)) {
          declined(a, "decline_reason");
        }
        if (a.outcome == Outcome::kOk) movement = moved(to->account_id);
        break;
      }
      case OpKind::kPotCreate: {
        json body{{"idempotency_key", op.key}, {"name", op.reference}};
        a = classify(send(conn, "POST", "/v1/accounts/" + account + "/pots", &body, customerHeaders(*me, tp)));
        if (a.outcome == Outcome::kOk) {
          std::string pot = stringField(a.body, "pot_id");
          if (pot.empty()) {
            a.outcome = Outcome::kFailed;
            a.code = "bad_response";
          } else {
            memory.pots[op.step] = pot;
          }
        }
        break;
      }
      case OpKind::kPotDeposit:
      case OpKind::kPotWithdraw: {
        auto it = memory.pots.find(static_cast<uint64_t>(op.depends_on));
        if (it == memory.pots.end()) return skip(op);
        json body{{"idempotency_key", op.key}, {"amount", money(op.amount_minor, cur)}};
        std::string target = "/v1/pots/" + pathSegment(it->second) +
                             (op.kind == OpKind::kPotDeposit ? "/deposit" : "/withdraw");
        a = classify(send(conn, "POST", target, &body, customerHeaders(*me, tp)));
        if (a.outcome == Outcome::kOk) {
          movement = moved(it->second);
          movement->ids["pot_id"] = it->second;
        }
        break;
      }
      case OpKind::kPayment: {
        json body{{"idempotency_key", op.key}, {"account_id", me->account_id},
                  {"amount", money(op.amount_minor, cur)}, {"sort_code", op.sort_code},
                  {"account_number", op.account_number}, {"reference", op.reference}};
        a = classify(send(conn, "POST", "/v1/payments", &body, customerHeaders(*me, tp)));
        if (a.outcome == Outcome::kOk && enumIs(a.body, "state", "PAYMENT_DECLINED", 4)) declined(a, "reason");
        if (a.outcome == Outcome::kOk) movement = moved(op.sort_code + "/" + op.account_number);
        break;
      }
      case OpKind::kReadBalance:
        a = classify(send(conn, "GET", "/v1/accounts/" + account + "/balance", nullptr, customerHeaders(*me, tp)));
        break;
      case OpKind::kReadFeed:
        a = classify(send(conn, "GET", "/v1/accounts/" + account + "/feed?limit=20", nullptr,
                          customerHeaders(*me, tp)));
        break;
    }
    if (movement) {
      for (const char* field : {"authorisation_id", "hold_id", "entryset_id", "transfer_id", "payment_id",
                                "pot_id", "debit_entryset_id", "state"}) {
        std::string v = stringField(a.body, field);
        if (!v.empty()) movement->ids[field] = v;
      }
      if (a.body.is_object()) {
        auto it = a.body.find("replayed");
        movement->replayed = it != a.body.end() && it->is_boolean() && it->get<bool>();
      }
    }
    record(op, a, SteadyClock::now() - t0, std::move(movement));
  }

  static void declined(Attempt& a, const char* reason_field) {
    a.outcome = Outcome::kDeclined;
    a.code = stringField(a.body, reason_field);
    if (a.code.empty()) a.code = "declined";
  }

  void skip(const PlannedOp& op) {
    std::lock_guard lock(stats_mu);
    ++stats.skipped;
    ++stats.by_kind[static_cast<int>(op.kind)].skipped;
  }

  void record(const PlannedOp& op, const Attempt& a, SteadyClock::duration latency,
              std::optional<MoneyMovement> movement) {
    auto now = SteadyClock::now();
    std::lock_guard lock(stats_mu);
    KindCounts& k = stats.by_kind[static_cast<int>(op.kind)];
    ++stats.attempted;
    ++k.attempted;
    switch (a.outcome) {
      case Outcome::kOk:
        ++stats.ok;
        ++k.ok;
        break;
      case Outcome::kDeclined:
        ++stats.declined;
        ++k.declined;
        ++stats.declines_by_reason[a.code];
        break;
      case Outcome::kFailed:
      case Outcome::kSkipped:
        ++stats.failed;
        ++k.failed;
        ++stats.failures_by_code[a.code];
        ++stats.failures_by_status[a.status];
        break;
    }
    latencies.record(std::chrono::duration_cast<std::chrono::nanoseconds>(latency));
    completions.push_back(now);
    while (!completions.empty() && now - completions.front() > std::chrono::seconds(1)) completions.pop_front();
    if (movement && a.outcome == Outcome::kOk) movements.push_back(std::move(*movement));
  }

  LoadStats snapshotLocked(SteadyClock::time_point now) const {
    LoadStats s = stats;
    s.planned = plannedOperationCount(options);
    s.p50 = latencies.percentile(0.50);
    s.p99 = latencies.percentile(0.99);
    s.max = latencies.max();
    SteadyClock::time_point end = now;
    bool ended = false;
    {
      std::lock_guard lock(done_mu);
      ended = done;
      if (done) end = finished_at;
    }
    bool began = started.load(std::memory_order_acquire);
    s.running = began && !ended;
    if (began) s.elapsed = std::chrono::duration_cast<std::chrono::nanoseconds>(end - started_at);
    size_t recent = 0;
    for (auto it = completions.rbegin(); it != completions.rend() && end - *it <= std::chrono::seconds(1); ++it) {
      ++recent;
    }
    double window = std::min(1.0, std::chrono::duration<double>(s.elapsed).count());
    s.current_rate = window > 0 ? static_cast<double>(recent) / window : 0;
    return s;
  }

  LoadOptions options;
  std::string host, port;
  SteadyClock::time_point started_at;  // written by start() before any thread exists
  std::atomic<bool> started{false};    // set by start() after started_at
  std::atomic<bool> stop_requested{false};
  std::mutex start_mu;                 // serialises start(), stop() and the destructor's join

  std::vector<std::unique_ptr<WorkerQueue>> queues;  // filled by start() under start_mu
  std::thread dispatcher;
  std::vector<std::thread> workers;

  std::mutex wake_mu;  // pairs with wake_cv: wakes waiting workers on stop()
  std::condition_variable wake_cv;

  std::mutex customers_mu;
  std::condition_variable customers_cv;
  std::vector<CustomerRuntime> customers;  // guarded by customers_mu

  mutable std::mutex stats_mu;
  LoadStats stats;                               // guarded by stats_mu
  LatencyHistogram latencies;                    // guarded by stats_mu
  std::deque<SteadyClock::time_point> completions;  // guarded by stats_mu, last second
  std::vector<MoneyMovement> movements;          // guarded by stats_mu

  mutable std::mutex done_mu;
  std::condition_variable done_cv;
  int workers_running = 0;                 // guarded by done_mu
  bool done = false;                       // guarded by done_mu
  SteadyClock::time_point finished_at;     // guarded by done_mu
};

LoadGenerator::LoadGenerator(LoadOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

LoadGenerator::~LoadGenerator() {
  stop();
  std::lock_guard lock(impl_->start_mu);
  if (impl_->dispatcher.joinable()) impl_->dispatcher.join();
  for (auto& w : impl_->workers) {
    if (w.joinable()) w.join();
  }
}

const LoadOptions& LoadGenerator::options() const { return impl_->options; }

Status LoadGenerator::start() {
  Impl& d = *impl_;
  std::lock_guard lock(d.start_mu);
  if (d.started.load()) return FailedPrecondition("this load run was already started");
  if (d.stopping()) return FailedPrecondition("this load run was stopped before it started");
  SANDBANK_RETURN_IF_ERROR(validateOptions(d.options));
  SANDBANK_RETURN_IF_ERROR(splitHostPort(d.options.edge, &d.host, &d.port));
  {
    EdgeConnection probe(d.host, d.port, d.options.request_timeout);
    Result<HttpResponse> r = probe.exchange("GET", "/healthz", {}, {});
    if (!r.ok()) {
      return Unavailable("the edge at " + d.options.edge + " is not reachable: " + r.status().message());
    }
    if (r->status != 200) {
      return Unavailable("the edge at " + d.options.edge + " answered GET /healthz with HTTP " +
                         std::to_string(r->status));
    }
  }
  d.customers.resize(static_cast<size_t>(d.options.customers));
  for (int i = 0; i < d.options.concurrency; ++i) d.queues.push_back(std::make_unique<Impl::WorkerQueue>());
  {
    std::lock_guard done_lock(d.done_mu);
    d.workers_running = d.options.concurrency;
  }
  d.started_at = SteadyClock::now();
  d.started.store(true, std::memory_order_release);
  d.dispatcher = std::thread([&d] { d.dispatch(); });
  for (int i = 0; i < d.options.concurrency; ++i) {
    d.workers.emplace_back([&d, i] { d.work(static_cast<size_t>(i)); });
  }
  return OkStatus();
}

void LoadGenerator::stop() {
  Impl& d = *impl_;
  d.stop_requested.store(true, std::memory_order_release);
  { std::lock_guard lock(d.wake_mu); }
  d.wake_cv.notify_all();
  { std::lock_guard lock(d.customers_mu); }
  d.customers_cv.notify_all();
  {
    // start() fills `queues`; wait for it rather than read the vector while it grows.
    std::lock_guard start_lock(d.start_mu);
    for (auto& q : d.queues) {
      std::lock_guard lock(q->mu);
      q->cv.notify_all();
    }
  }
  std::lock_guard lock(d.done_mu);
  if (d.workers_running == 0) {
    // Never started: there is nothing to wait for.
    if (!d.done) d.finished_at = SteadyClock::now();
    d.done = true;
    d.done_cv.notify_all();
  }
}

void LoadGenerator::wait() {
  std::unique_lock lock(impl_->done_mu);
  impl_->done_cv.wait(lock, [&] { return impl_->done; });
}

bool LoadGenerator::waitFor(std::chrono::milliseconds timeout) {
  std::unique_lock lock(impl_->done_mu);
  return impl_->done_cv.wait_for(lock, timeout, [&] { return impl_->done; });
}

bool LoadGenerator::finished() const {
  std::lock_guard lock(impl_->done_mu);
  return impl_->done;
}

LoadStats LoadGenerator::snapshot() const {
  std::lock_guard lock(impl_->stats_mu);
  return impl_->snapshotLocked(SteadyClock::now());
}

LoadReport LoadGenerator::report() const {
  Impl& d = *impl_;
  LoadReport r;
  {
    std::lock_guard lock(d.stats_mu);
    r.stats = d.snapshotLocked(SteadyClock::now());
    r.movements = d.movements;
  }
  std::lock_guard lock(d.customers_mu);
  for (size_t i = 0; i < d.customers.size(); ++i) {
    const auto& c = d.customers[i];
    CustomerRecord cr;
    cr.index = static_cast<int>(i);
    cr.signed_up = c.ok;
    cr.email = c.email;
    cr.user_id = c.user_id;
    cr.account_id = c.account_id;
    cr.card_id = c.card_id;
    r.customers.push_back(std::move(cr));
  }
  return r;
}

}  // namespace sandbank::load
