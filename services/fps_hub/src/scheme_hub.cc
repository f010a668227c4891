// The simulated scheme's decisions and memory; see scheme_hub.h.
#include "sandbank/fps_hub/scheme_hub.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <sstream>

#include "sandbank/bankcore/money.h"

namespace sandbank::fps_hub {
namespace {

constexpr const char* kDefaultRejectReason = "rejected by the scheme (scripted)";

std::string fingerprintOf(const pb::HubSubmitRequest& r) {
  return std::to_string(r.amount().minor_units()) + " " + r.amount().currency() + " " + r.sort_code() + " " +
         r.account_number();
}

std::vector<std::string> splitList(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    size_t b = item.find_first_not_of(" \t");
    size_t e = item.find_last_not_of(" \t");
    if (b != std::string::npos) out.push_back(item.substr(b, e - b + 1));
  }
  return out;
}

Result<double> rateOf(const kit::Config& config, const std::string& name) {
  auto v = config.get(name);
  if (!v || v->empty()) return 0.0;
  char* end = nullptr;
  double d = std::strtod(v->c_str(), &end);
  if (end == v->c_str() || *end != '\0' || !(d >= 0.0 && d <= 1.0)) {
    return InvalidArgument(name + " must be a share between 0 and 1 (e.g. 0.05), got '" + *v + "'");
  }
  return d;
}

}  // namespace

pb::HubAction hubActionOf(const std::string& name) {
  if (name == "ack") return pb::HUB_ACTION_ACK;
  if (name == "reject") return pb::HUB_ACTION_REJECT;
  if (name == "timeout") return pb::HUB_ACTION_TIMEOUT;
  if (name == "ack_late") return pb::HUB_ACTION_ACK_LATE;
  return pb::HUB_ACTION_UNSPECIFIED;
}

std::string hubActionName(pb::HubAction action) {
  switch (action) {
    case pb::HUB_ACTION_ACK: return "ack";
    case pb::HUB_ACTION_REJECT: return "reject";
    case pb::HUB_ACTION_TIMEOUT: return "timeout";
    case pb::HUB_ACTION_ACK_LATE: return "ack_late";
    default: return "unspecified";
  }
}

SchemeHub::SchemeHub(SchemeHubOptions options) : options_(options) {
  std::random_device rd;
  char buf[32];
  std::snprintf(buf, sizeof buf, "hub-in-%08x%08x-", rd(), rd());
  inbound_prefix_ = buf;
}

Result<pb::HubBehaviourRequest> SchemeHub::behaviourFromConfig(const kit::Config& config) {
  pb::HubBehaviourRequest req;
  if (auto d = config.get("FPS_HUB_DEFAULT"); d && !d->empty()) {
    req.set_default_action(hubActionOf(*d));
    if (req.default_action() == pb::HUB_ACTION_UNSPECIFIED) {
      return InvalidArgument("FPS_HUB_DEFAULT must be ack, reject, timeout or ack_late, got '" + *d + "'");
    }
  }
  const std::pair<const char*, pb::HubAction> lists[] = {
      {"FPS_HUB_REJECT_SORT_CODES", pb::HUB_ACTION_REJECT},
      {"FPS_HUB_TIMEOUT_SORT_CODES", pb::HUB_ACTION_TIMEOUT},
      {"FPS_HUB_REJECT_ACCOUNTS", pb::HUB_ACTION_REJECT},
      {"FPS_HUB_TIMEOUT_ACCOUNTS", pb::HUB_ACTION_TIMEOUT},
  };
  for (const auto& [name, action] : lists) {
    const bool sort_codes = std::string(name).find("SORT_CODES") != std::string::npos;
    for (const std::string& item : splitList(config.getOr(name, ""))) {
      pb::HubRule* rule = req.add_rules();
      if (sort_codes) rule->set_sort_code(item);
      else rule->set_account_number(item);
      rule->set_action(action);
      if (action == pb::HUB_ACTION_REJECT) {
        rule->set_reason(std::string("payee ") + (sort_codes ? "sort code " : "account ") + item +
                         " is not reachable (scripted)");
      }
    }
  }
  SANDBANK_ASSIGN_OR_RETURN(double reject, rateOf(config, "FPS_HUB_REJECT_RATE"));
  SANDBANK_ASSIGN_OR_RETURN(double timeout, rateOf(config, "FPS_HUB_TIMEOUT_RATE"));
  auto seed = config.getInt("FPS_HUB_SEED", 1);
  if (!seed.ok()) return seed.status();
  if (reject + timeout > 1.0) {
    return InvalidArgument("FPS_HUB_REJECT_RATE + FPS_HUB_TIMEOUT_RATE must not exceed 1");
  }
  req.set_set_rates(true);
  req.set_reject_rate(reject);
  req.set_timeout_rate(timeout);
  req.set_seed(static_cast<uint64_t>(*seed));
  return req;
}

Result<pb::HubBehaviourResponse> SchemeHub::setBehaviour(const pb::HubBehaviourRequest& request) {
  for (int i = 0; i < request.rules_size(); ++i) {
    const pb::HubRule& r = request.rules(i);
    const std::string which = "rules[" + std::to_string(i) + "]";
    if (r.action() == pb::HUB_ACTION_UNSPECIFIED) return InvalidArgument(which + ".action is required");
    if (r.payment_id().empty() && r.account_number().empty() && r.sort_code().empty() && r.next_n() <= 0) {
      return InvalidArgument(which + " needs a payment_id, account_number, sort_code or next_n > 0");
    }
  }
  if (request.set_rates()) {
    if (!(request.reject_rate() >= 0 && request.timeout_rate() >= 0 &&
          request.reject_rate() + request.timeout_rate() <= 1.0)) {
      return InvalidArgument("reject_rate and timeout_rate must be >= 0 and sum to at most 1");
    }
  }
  std::lock_guard lock(mu_);
  if (request.clear()) {
    by_payment_.clear();
    by_account_.clear();
    by_sort_code_.clear();
    next_n_.clear();
    reject_rate_ = timeout_rate_ = 0;
    default_action_ = pb::HUB_ACTION_ACK;
  }
  for (const pb::HubRule& r : request.rules()) {
    Rule rule{r.action(), r.reason()};
    if (rule.action == pb::HUB_ACTION_REJECT && rule.reason.empty()) rule.reason = kDefaultRejectReason;
    if (!r.payment_id().empty()) by_payment_[r.payment_id()] = rule;
    else if (!r.account_number().empty()) by_account_[r.account_number()] = rule;
    else if (!r.sort_code().empty()) by_sort_code_[r.sort_code()] = rule;
    else next_n_.push_back(NextN{r.next_n(), rule});
  }
  if (request.default_action() != pb::HUB_ACTION_UNSPECIFIED) default_action_ = request.default_action();
  if (request.set_rates()) {
    reject_rate_ = request.reject_rate();
    timeout_rate_ = request.timeout_rate();
    seed_ = request.seed();
  }
  pb::HubBehaviourResponse resp;
  resp.set_rules(static_cast<int32_t>(by_payment_.size() + by_account_.size() + by_sort_code_.size() + next_n_.size()));
  resp.set_default_action(default_action_);
  return resp;
}

SchemeHub::Rule SchemeHub::chooseLocked(const pb::HubSubmitRequest& request) {
  if (auto it = by_payment_.find(request.payment_id()); it != by_payment_.end()) return it->second;
  if (auto it = by_account_.find(request.account_number()); it != by_account_.end()) return it->second;
  if (auto it = by_sort_code_.find(request.sort_code()); it != by_sort_code_.end()) return it->second;
  while (!next_n_.empty() && next_n_.front().remaining <= 0) next_n_.pop_front();
  if (!next_n_.empty()) {
    Rule r = next_n_.front().rule;
    if (--next_n_.front().remaining <= 0) next_n_.pop_front();
    return r;
  }
  if (reject_rate_ > 0 || timeout_rate_ > 0) {
    // A hash of (seed, payment id), not a sequence: the same payment gets the same fate
    // whatever order concurrent submissions arrive in.
    const double u = static_cast<double>(bank::stableHash(std::to_string(seed_) + "/" + request.payment_id()) %
                                         1'000'000) / 1e6;
    if (u < reject_rate_) return Rule{pb::HUB_ACTION_REJECT, "rejected by the scheme (seeded reject rate)"};
    if (u < reject_rate_ + timeout_rate_) return Rule{pb::HUB_ACTION_TIMEOUT, ""};
  }
  Rule r{default_action_, ""};
  if (r.action == pb::HUB_ACTION_REJECT) r.reason = kDefaultRejectReason;
  return r;
}

Result<HubDecision> SchemeHub::submit(const pb::HubSubmitRequest& request) {
  if (request.payment_id().empty()) return InvalidArgument("payment_id is required");
  const std::string fingerprint = fingerprintOf(request);
  std::lock_guard lock(mu_);
  HubDecision d;
  if (auto it = decided_.find(request.payment_id()); it != decided_.end()) {
    if (it->second.fingerprint != fingerprint) {
      return FailedPrecondition("payment id " + request.payment_id() +
                                " was already submitted with other details (" + it->second.fingerprint + ")");
    }
    it->second.record.set_submissions(it->second.record.submissions() + 1);
    d.action = it->second.record.outcome() == pb::HUB_ACK ? pb::HUB_ACTION_ACK : pb::HUB_ACTION_REJECT;
    d.response.set_outcome(it->second.record.outcome());
    d.response.set_reason(it->second.record.reason());
    d.replayed = true;
    return d;
  }
  Rule rule = chooseLocked(request);
  d.action = rule.action;
  if (rule.action == pb::HUB_ACTION_TIMEOUT) {
    ++timed_out_[request.payment_id()];
    return d;
  }
  d.response.set_outcome(rule.action == pb::HUB_ACTION_REJECT ? pb::HUB_REJECT : pb::HUB_ACK);
  d.response.set_reason(rule.reason);
  Remembered m;
  m.fingerprint = fingerprint;
  m.record.set_payment_id(request.payment_id());
  m.record.set_outcome(d.response.outcome());
  m.record.set_reason(rule.reason);
  int32_t earlier = 0;
  if (auto t = timed_out_.find(request.payment_id()); t != timed_out_.end()) {
    earlier = t->second;
    timed_out_.erase(t);
  }
  m.record.set_submissions(earlier + 1);
  m.record.set_answered_late(rule.action == pb::HUB_ACTION_ACK_LATE);
  *m.record.mutable_request() = request;
  decided_.emplace(request.payment_id(), std::move(m));
  return d;
}

Result<pb::HubSubmission> SchemeHub::submission(const std::string& payment_id) const {
  std::lock_guard lock(mu_);
  if (auto it = decided_.find(payment_id); it != decided_.end()) return it->second.record;
  if (auto t = timed_out_.find(payment_id); t != timed_out_.end()) {
    return NotFound("the hub never took payment " + payment_id + ": its " + std::to_string(t->second) +
                    " submission(s) timed out");
  }
  return NotFound("the hub has never seen payment " + payment_id);
}

void SchemeHub::holdUntil(std::chrono::system_clock::time_point deadline, const std::function<bool()>& cancelled) {
  const auto cap = std::chrono::system_clock::now() + options_.max_hold;
  if (deadline > cap) deadline = cap;
  std::unique_lock lock(mu_);
  while (!stopped_ && std::chrono::system_clock::now() < deadline) {
    const auto step = std::min(deadline, std::chrono::system_clock::now() + std::chrono::milliseconds(50));
    stopped_cv_.wait_until(lock, step, [this] { return stopped_; });
    if (cancelled) {
      lock.unlock();
      const bool gone = cancelled();
      lock.lock();
      if (gone) return;
    }
  }
}

std::string SchemeHub::nextInboundId() {
  std::lock_guard lock(mu_);
  return inbound_prefix_ + std::to_string(++inbound_seq_);
}

void SchemeHub::stop() {
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
  }
  stopped_cv_.notify_all();
}

}  // namespace sandbank::fps_hub
