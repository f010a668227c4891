// SchemeHub: the simulated Faster Payments scheme. It decides each new submission by
// scripted rules (payment id, account number, sort code, "next N", seeded rates, then a
// default) and remembers what it decided per payment id, so a resubmission gets the
// original outcome and the scheme never processes a payment twice.
// Thread-safety: every method may be called concurrently; state is guarded by mu_.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "sandbank/bank/fps.pb.h"
#include "sandbank/core/result.h"
#include "sandbank/kit/config.h"

namespace sandbank::fps_hub {

namespace pb = ::sandbank::bank::fps;

// What the hub does with one call to Submit.
struct HubDecision {
  pb::HubAction action = pb::HUB_ACTION_ACK;  // TIMEOUT / ACK_LATE: answer after the deadline
  pb::HubSubmitResponse response;             // the outcome (unset for TIMEOUT)
  bool replayed = false;                      // a resubmission answered from memory
};

struct SchemeHubOptions {
  // The longest a TIMEOUT / ACK_LATE answer is held when the caller set no deadline.
  std::chrono::milliseconds max_hold{30000};
};

class SchemeHub {
 public:
  explicit SchemeHub(SchemeHubOptions options = {});

  // The behaviour the environment asks for, as one SetBehaviour request:
  // FPS_HUB_DEFAULT (ack|reject|timeout|ack_late), FPS_HUB_REJECT_SORT_CODES,
  // FPS_HUB_TIMEOUT_SORT_CODES, FPS_HUB_REJECT_ACCOUNTS, FPS_HUB_TIMEOUT_ACCOUNTS
  // (comma-separated), FPS_HUB_REJECT_RATE, FPS_HUB_TIMEOUT_RATE (0..1), FPS_HUB_SEED.
  // INVALID_ARGUMENT names the variable that is wrong.
  static Result<pb::HubBehaviourRequest> behaviourFromConfig(const kit::Config& config);

  // Decides a submission. A payment id the hub has decided before gets the original
  // outcome (replayed = true, action ACK or REJECT, never held); the same id with other
  // details is FAILED_PRECONDITION; an empty id is INVALID_ARGUMENT. A TIMEOUT decision
  // is not remembered: the payment never reached the scheme.
  Result<HubDecision> submit(const pb::HubSubmitRequest& request);

  // Applies rules (see HubBehaviourRequest in fps.proto). INVALID_ARGUMENT for a rule
  // without an action or matcher, or a rate outside 0..1.
  Result<pb::HubBehaviourResponse> setBehaviour(const pb::HubBehaviourRequest& request);

  // What the hub decided for `payment_id`, or NOT_FOUND.
  Result<pb::HubSubmission> submission(const std::string& payment_id) const;

  // Blocks the calling (gRPC handler) thread until `deadline` (real time: this is the
  // network's timing, not business time), at most max_hold, until stop(), or until
  // `cancelled` (polled every 50 ms; may be empty) says the caller has gone.
  void holdUntil(std::chrono::system_clock::time_point deadline, const std::function<bool()>& cancelled = {});
  // A fresh scheme payment id for a payment the hub originates:
  // "hub-in-<random per process>-<n>", so a restarted hub never reuses one (fps would
  // take a reused id for a replay and credit nothing).
  std::string nextInboundId();

  // Releases every held call now and makes later holds return at once (shutdown).
  void stop();

 private:
  struct Rule {
    pb::HubAction action = pb::HUB_ACTION_ACK;
    std::string reason;
  };
  struct NextN {
    int32_t remaining = 0;
    Rule rule;
  };
  struct Remembered {
    pb::HubSubmission record;
    std::string fingerprint;
  };
  Rule chooseLocked(const pb::HubSubmitRequest& request);  // requires mu_

  SchemeHubOptions options_;
  mutable std::mutex mu_;
  std::condition_variable stopped_cv_;
  bool stopped_ = false;                          // guarded by mu_
  std::map<std::string, Rule> by_payment_;        // guarded by mu_
  std::map<std::string, Rule> by_account_;       // guarded by mu_
  std::map<std::string, Rule> by_sort_code_;      // guarded by mu_
  std::deque<NextN> next_n_;                      // guarded by mu_
  double reject_rate_ = 0;                        // guarded by mu_
  double timeout_rate_ = 0;                       // guarded by mu_
  uint64_t seed_ = 0;                             // guarded by mu_
  pb::HubAction default_action_ = pb::HUB_ACTION_ACK;  // guarded by mu_
  std::map<std::string, Remembered> decided_;     // by payment id; guarded by mu_
  std::map<std::string, int32_t> timed_out_;      // submissions of never-decided ids; guarded by mu_
  int64_t inbound_seq_ = 0;                       // guarded by mu_
  std::string inbound_prefix_;                    // immutable after construction
};

// "ack", "reject", "timeout", "ack_late" <-> HubAction; UNSPECIFIED for anything else.
pb::HubAction hubActionOf(const std::string& name);
std::string hubActionName(pb::HubAction action);

}  // namespace sandbank::fps_hub
