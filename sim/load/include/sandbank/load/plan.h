// The plan of a load run: which customer does what, with which amounts and keys, in which
// order and at which offset from the start. It is a pure function of the options (the
// seed above all), so a re-run sends the same requests with the same idempotency keys.
// Ids the bank hands out (account, card, authorisation, pot ids) are only known while
// running, so the plan names them symbolically: a customer index, or the step whose
// answer carries the id (`depends_on`).
// Thread-safety: PlanGenerator is not thread-safe; plan() is a pure function.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sandbank/load/load_options.h"

namespace sandbank::load {

// A merchant the card scheme names in an authorise, with a plausible spend range.
struct Merchant {
  std::string_view merchant_id;
  std::string_view name;
  std::string_view category_code;  // ISO 18245 MCC
  std::string_view country;
  int64_t min_minor;
  int64_t max_minor;
};
// The fixed merchant table plans index into.
const std::vector<Merchant>& merchants();

struct PlannedOp {
  uint64_t step = 0;               // position in the plan, 0-based
  std::chrono::nanoseconds at{0};  // due time from the start of the run: step / rate
  OpKind kind = OpKind::kSignup;
  int customer = 0;                // who acts (for scheme ops: whose card / account)
  int counterparty = -1;           // kTransfer: the receiving customer
  int64_t amount_minor = 0;        // 0 for sign-ups, pot creation, reads, reverses
  // The idempotency key (customer routes), scheme_message_id (card scheme), payment_id
  // (FPS inbound) or, for a sign-up, the email. Unique per step, derived from the seed; a
  // retransmission repeats the key of the authorise it retransmits. Empty for reads.
  std::string key;
  // The earlier step whose answer this op needs: the authorise for a clear, reverse or
  // retransmission; the pot creation for a deposit or withdrawal. -1 when none.
  int64_t depends_on = -1;
  int merchant = -1;               // card ops: index into merchants()
  std::string reference;           // payment/transfer reference, pot name, payer name,
                                   // merchant name (card ops), customer name (sign-up)
  std::string sort_code;           // kPayment: the outside payee
  std::string account_number;      // kPayment: the outside payee
  // W3C trace id (32 lowercase hex digits) sent in this step's `traceparent`, so the
  // step can be found with `sandbank flow --trace`.
  std::string trace_id;

  bool operator==(const PlannedOp&) const = default;
};

// Generates the plan one step at a time (an unbounded run never materialises it).
//   step 0 .. customers-1              sign-ups, customer i at step i
//   step customers .. 2*customers-1    each customer's first salary (as far as the plan
//                                      reaches)
//   then                               the weighted mix; follow-ups (clear, reverse,
//                                      retransmission) are slotted in a few steps after
//                                      their authorise, always for the same customer
// Amounts follow each customer's expected balance, assuming every earlier step
// succeeds, so spends are mostly affordable and `overspend_fraction` of them are not.
class PlanGenerator {
 public:
  // `options` must pass validateOptions().
  explicit PlanGenerator(const LoadOptions& options);
  ~PlanGenerator();
  PlanGenerator(const PlanGenerator&) = delete;
  PlanGenerator& operator=(const PlanGenerator&) = delete;

  // The next step. Never ends: a bounded run stops after plannedOperationCount().
  PlannedOp next();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

inline constexpr uint64_t kWholePlan = 0;

// The first `max_ops` steps, or with kWholePlan the whole plan of a bounded run (an
// unbounded run, duration 0, then yields only the sign-ups). Empty when the options are
// invalid.
std::vector<PlannedOp> plan(const LoadOptions& options, uint64_t max_ops = kWholePlan);

}  // namespace sandbank::load
