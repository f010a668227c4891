// What a load run does: how many simulated customers, how fast, for how long, against
// which edge, and the mix of operations they perform. Plain values plus a validator whose
// messages name the CLI flags (`--rate must be > 0, got -1`).
// Thread-safety: value types and pure functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "sandbank/core/status.h"

namespace sandbank::load {

// One kind of request a simulated customer (or the card scheme / FPS hub on their
// behalf) sends to the edge.
enum class OpKind : uint8_t {
  kSignup,          // POST /v1/signup
  kGetPaid,         // POST /scheme/fps/inbound (a salary or other credit)
  kCardAuthorise,   // POST /scheme/card/authorise
  kCardRetransmit,  // the same authorise again, same scheme_message_id
  kCardClear,       // POST /scheme/card/clear for an earlier authorise
  kCardReverse,     // POST /scheme/card/reverse for an earlier authorise
  kTransfer,        // POST /v1/transfers to another simulated customer
  kPotCreate,       // POST /v1/accounts/{id}/pots
  kPotDeposit,      // POST /v1/pots/{pot_id}/deposit
  kPotWithdraw,     // POST /v1/pots/{pot_id}/withdraw
  kPayment,         // POST /v1/payments (Faster Payment out)
  kReadBalance,     // GET /v1/accounts/{id}/balance
  kReadFeed,        // GET /v1/accounts/{id}/feed?limit=20
};
inline constexpr int kOpKindCount = 13;

// "signup", "get_paid", "card_authorise", "card_retransmit", "card_clear", "card_reverse",
// "transfer", "pot_create", "pot_deposit", "pot_withdraw", "payment", "read_balance",
// "read_feed".
std::string_view opKindName(OpKind kind);

// What customers do once signed up (and paid their first salary). Weights are relative;
// 0 turns an activity off. Fractions are probabilities in [0, 1].
struct OperationMix {
  double get_paid = 1;      // another inbound Faster Payment
  double card_spend = 5;    // an authorise; its clear or reverse follows a few steps later
  double transfer = 2;      // to another customer (ignored with a single customer)
  double pot = 1.5;         // create a pot when there is none, else deposit or withdraw
  double payment = 1;       // Faster Payment out to an outside account
  double read_balance = 2;
  double read_feed = 1;

  double reverse_fraction = 0.1;         // of spends: reversed instead of cleared
  double unsettled_fraction = 0.05;      // of spends: never cleared (the hold expires)
  double clear_differs_fraction = 0.15;  // of clears: a different amount (tips, fuel)
  double retransmit_fraction = 0.05;     // of spends: the scheme sends the authorise twice
  double overspend_fraction = 0.03;      // of spends/transfers/payments: more than the
                                         // customer has, so a decline is expected
};

struct LoadOptions {
  int customers = 10;
  double rate = 50;                              // operations per second, sign-ups included
  std::chrono::milliseconds duration{10'000};    // 0 = run until stop()
  uint64_t seed = 1;
  std::string edge = "127.0.0.1:8080";           // host:port of the edge's HTTP listener
  std::string scheme_key = "sandbank-scheme";    // X-Scheme-Key for /scheme/* routes
  int concurrency = 8;                           // workers, one keep-alive connection each
  OperationMix mix;
  std::chrono::milliseconds request_timeout{5'000};  // per HTTP exchange
  std::string currency = "GBP";
};

// OK, or InvalidArgument naming the flag and the bad value, e.g.
// "--rate must be > 0, got -1". Also refuses a bounded run too short to sign up every
// customer.
Status validateOptions(const LoadOptions& options);

// How many operations a bounded run schedules: floor(rate * duration). 0 for an
// unbounded run (duration 0).
uint64_t plannedOperationCount(const LoadOptions& options);

// Splits "host:port"; InvalidArgument when malformed.
Status splitHostPort(std::string_view edge, std::string* host, std::string* port);

}  // namespace sandbank::load
