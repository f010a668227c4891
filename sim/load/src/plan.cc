// PlanGenerator and plan(): the deterministic schedule of a load run. Randomness comes
// from a SplitMix64 stream seeded by the run's seed, with our own integer and real
// draws, so a plan is identical across standard libraries.
// Thread-safety: PlanGenerator is used by one thread at a time.
#include "sandbank/load/plan.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <queue>

namespace sandbank::load {
namespace {

class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n); n > 0.
  uint64_t below(uint64_t n) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(next()) * n) >> 64);
  }
  // Uniform in [lo, hi].
  int64_t between(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(below(static_cast<uint64_t>(hi - lo) + 1));
  }
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  bool chance(double p) { return unit() < p; }

 private:
  uint64_t state_;
};

// Activities of the mix, in OperationMix field order.
enum Activity { kActGetPaid, kActSpend, kActTransfer, kActPot, kActPayment, kActBalance, kActFeed, kActCount };

constexpr int64_t kSalaryMin = 120'000;  // GBP 1200
constexpr int64_t kSalaryMax = 350'000;
constexpr int kMaxPots = 2;
constexpr uint64_t kFollowUpWindow = 48;  // steps between an authorise and its clear

constexpr std::array<std::string_view, 6> kEmployers = {
    "Acme Widgets Ltd", "Northwind Traders", "City Council", "Riverside NHS Trust",
    "Blue Fin Studios", "Harbour Logistics"};
constexpr std::array<std::string_view, 6> kPotNames = {
    "Holiday", "Rainy day", "New bike", "Christmas", "Bills", "House deposit"};
constexpr std::array<std::string_view, 6> kTransferRefs = {
    "Dinner", "Rent share", "Concert tickets", "Coffee", "Birthday present", "Taxi"};
constexpr std::array<std::string_view, 5> kPaymentRefs = {
    "Rent", "Council tax", "Electricity", "Broadband", "Gym"};

template <class A>
std::string pick(SplitMix64& rng, const A& items) {
  return std::string(items[rng.below(items.size())]);
}

}  // namespace

const std::vector<Merchant>& merchants() {
  static const std::vector<Merchant> kMerchants = {
      {"m-tesco-islington", "Tesco Islington", "5411", "GBR", 250, 8'000},
      {"m-pret-kings-cross", "Pret A Manger", "5814", "GBR", 300, 1'200},
      {"m-tfl", "Transport for London", "4111", "GBR", 170, 850},
      {"m-amazon-uk", "Amazon UK", "5942", "GBR", 699, 15'000},
      {"m-shell-a1", "Shell A1", "5541", "GBR", 2'000, 9'000},
      {"m-netflix", "Netflix", "4899", "NLD", 1'099, 1'799},
      {"m-boulangerie-paris", "Boulangerie Martin", "5462", "FRA", 120, 1'500},
      {"m-cineworld", "Cineworld", "7832", "GBR", 900, 3'500},
  };
  return kMerchants;
}

struct PlanGenerator::State {
  struct PotPlan {
    uint64_t created_at_step;
    int64_t balance = 0;
  };
  struct Customer {
    int64_t balance = 0;  // expected, assuming every earlier step succeeded
    std::vector<PotPlan> pots;
  };
  struct FollowUp {
    uint64_t due;
    uint64_t seq;  // ties keep the order they were scheduled in
    PlannedOp op;
    bool operator>(const FollowUp& o) const { return due != o.due ? due > o.due : seq > o.seq; }
  };

  explicit State(const LoadOptions& o) : options(o), rng(o.seed ^ 0x73616e6462616e6bULL) {
    customers.resize(static_cast<size_t>(std::max(o.customers, 1)));
    const OperationMix& m = o.mix;
    weights = {m.get_paid, m.card_spend, o.customers > 1 ? m.transfer : 0.0, m.pot, m.payment,
               m.read_balance, m.read_feed};
    total_weight = 0;
    for (double w : weights) total_weight += w;
    char buf[32];
    std::snprintf(buf, sizeof buf, "ld%016llx", static_cast<unsigned long long>(o.seed));
    key_prefix = buf;
  }

  std::string keyFor(uint64_t step, std::string_view tag) const {
    return key_prefix + "-" + std::to_string(step) + "-" + std::string(tag);
  }

  // Derived from (seed, step) alone, not from the random stream.
  std::string traceIdFor(uint64_t step) const {
    SplitMix64 h(options.seed * 0x9e3779b97f4a7c15ULL + step);
    char buf[40];
    std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(h.next()),
                  static_cast<unsigned long long>(h.next() | 1));
    return buf;
  }

  Activity pickActivity() {
    double x = rng.unit() * total_weight;
    for (int i = 0; i < kActCount; ++i) {
      if (x < weights[i]) return static_cast<Activity>(i);
      x -= weights[i];
    }
    for (int i = kActCount - 1; i >= 0; --i) {
      if (weights[i] > 0) return static_cast<Activity>(i);
    }
    return kActBalance;
  }

  // An amount drawn from [lo, hi] that the customer can afford, or (overspend_fraction
  // of the time, or when even `lo` is too much) one that they cannot. Updates the
  // expected balance when the amount is affordable.
  int64_t spendAmount(Customer& c, int64_t lo, int64_t hi) {
    int64_t amount = rng.between(lo, hi);
    if (rng.chance(options.mix.overspend_fraction)) {
      return std::max<int64_t>(c.balance, 0) + rng.between(1'000, 50'000);
    }
    if (amount > c.balance && c.balance >= lo) amount = rng.between(lo, c.balance);
    if (amount <= c.balance) c.balance -= amount;
    return amount;
  }

  void schedule(uint64_t due, PlannedOp op) { follow_ups.push(FollowUp{due, seq++, std::move(op)}); }

  void planSalary(PlannedOp& op, int customer) {
    op.kind = OpKind::kGetPaid;
    op.customer = customer;
    op.amount_minor = rng.between(kSalaryMin, kSalaryMax);
    op.key = keyFor(op.step, "fpsin");
    op.reference = pick(rng, kEmployers);
    customers[static_cast<size_t>(customer)].balance += op.amount_minor;
  }

  void planSpend(PlannedOp& op, Customer& c) {
    op.kind = OpKind::kCardAuthorise;
    op.merchant = static_cast<int>(rng.below(merchants().size()));
    const Merchant& m = merchants()[static_cast<size_t>(op.merchant)];
    int64_t before = c.balance;
    op.amount_minor = spendAmount(c, m.min_minor, m.max_minor);
    bool expect_approved = c.balance != before;
    op.key = keyFor(op.step, "auth");
    op.reference = std::string(m.name);

    uint64_t last = op.step;
    if (rng.chance(options.mix.retransmit_fraction)) {
      PlannedOp again = op;
      again.kind = OpKind::kCardRetransmit;
      again.depends_on = static_cast<int64_t>(op.step);
      last = op.step + 1 + rng.below(4);
      schedule(last, std::move(again));
    }
    double r = rng.unit();
    const OperationMix& mix = options.mix;
    if (r < mix.reverse_fraction) {
      PlannedOp rev;
      rev.kind = OpKind::kCardReverse;
      rev.customer = op.customer;
      rev.merchant = op.merchant;
      rev.depends_on = static_cast<int64_t>(op.step);
      rev.reference = op.reference;
      if (expect_approved) c.balance += op.amount_minor;
      schedule(last + 1 + rng.below(kFollowUpWindow), std::move(rev));
    } else if (r < mix.reverse_fraction + mix.unsettled_fraction) {
      // Never cleared: the hold stays until it expires.
    } else {
      PlannedOp clear;
      clear.kind = OpKind::kCardClear;
      clear.customer = op.customer;
      clear.merchant = op.merchant;
      clear.depends_on = static_cast<int64_t>(op.step);
      clear.reference = op.reference;
      clear.amount_minor = op.amount_minor;
      if (rng.chance(mix.clear_differs_fraction)) {
        // Tips, fuel pre-authorisations, partial shipments: within +-20%.
        double factor = 0.8 + 0.4 * rng.unit();
        clear.amount_minor = std::max<int64_t>(1, std::llround(static_cast<double>(op.amount_minor) * factor));
        if (clear.amount_minor == op.amount_minor) clear.amount_minor += 1;
      }
      if (expect_approved) c.balance -= clear.amount_minor - op.amount_minor;
      schedule(last + 1 + rng.below(kFollowUpWindow), std::move(clear));
    }
  }

  void planMix(PlannedOp& op) {
    op.customer = static_cast<int>(rng.below(customers.size()));
    Customer& c = customers[static_cast<size_t>(op.customer)];
    Activity act = pickActivity();
    // Someone who is broke mostly waits for payday rather than trying to spend.
    bool spends = act == kActSpend || act == kActTransfer || act == kActPayment;
    if (spends && c.balance < 1'000 && options.mix.get_paid > 0 && rng.chance(0.8)) act = kActGetPaid;
    switch (act) {
      case kActGetPaid:
        planSalary(op, op.customer);
        return;
      case kActSpend:
        planSpend(op, c);
        return;
      case kActTransfer: {
        op.kind = OpKind::kTransfer;
        int other = static_cast<int>(rng.below(customers.size() - 1));
        op.counterparty = other >= op.customer ? other + 1 : other;
        int64_t before = c.balance;
        op.amount_minor = spendAmount(c, 500, 10'000);
        op.key = keyFor(op.step, "p2p");
        op.reference = pick(rng, kTransferRefs);
        if (c.balance != before) customers[static_cast<size_t>(op.counterparty)].balance += op.amount_minor;
        return;
      }
      case kActPot: {
        bool create = c.pots.empty() ||
                      (static_cast<int>(c.pots.size()) < kMaxPots && rng.chance(0.1));
        if (create) {
          op.kind = OpKind::kPotCreate;
          op.key = keyFor(op.step, "pot");
          op.reference = pick(rng, kPotNames);
          c.pots.push_back(PotPlan{op.step, 0});
          return;
        }
        PotPlan& pot = c.pots[rng.below(c.pots.size())];
        op.depends_on = static_cast<int64_t>(pot.created_at_step);
        if (pot.balance > 0 && rng.chance(0.4)) {
          op.kind = OpKind::kPotWithdraw;
          op.amount_minor = rng.between(1, pot.balance);
          op.key = keyFor(op.step, "potout");
          pot.balance -= op.amount_minor;
          c.balance += op.amount_minor;
        } else {
          op.kind = OpKind::kPotDeposit;
          int64_t before = c.balance;
          op.amount_minor = spendAmount(c, 1'000, 20'000);
          op.key = keyFor(op.step, "potin");
          if (c.balance != before) pot.balance += op.amount_minor;
        }
        return;
      }
      case kActPayment: {
        op.kind = OpKind::kPayment;
        op.amount_minor = spendAmount(c, 1'000, 30'000);
        op.key = keyFor(op.step, "fpsout");
        op.reference = pick(rng, kPaymentRefs);
        char sort[8], account[12];
        std::snprintf(sort, sizeof sort, "%06llu", static_cast<unsigned long long>(rng.below(1'000'000)));
        std::snprintf(account, sizeof account, "%08llu",
                      static_cast<unsigned long long>(rng.below(100'000'000)));
        op.sort_code = sort;
        op.account_number = account;
        return;
      }
      case kActBalance:
        op.kind = OpKind::kReadBalance;
        return;
      case kActFeed:
      case kActCount:
        op.kind = OpKind::kReadFeed;
        return;
    }
  }

  LoadOptions options;
  SplitMix64 rng;
  std::vector<Customer> customers;
  std::array<double, kActCount> weights{};
  double total_weight = 0;
  std::string key_prefix;
  std::priority_queue<FollowUp, std::vector<FollowUp>, std::greater<>> follow_ups;
  uint64_t seq = 0;
  uint64_t step = 0;
};

PlanGenerator::PlanGenerator(const LoadOptions& options) : state_(std::make_unique<State>(options)) {}
PlanGenerator::~PlanGenerator() = default;

PlannedOp PlanGenerator::next() {
  State& s = *state_;
  const uint64_t n = s.customers.size();
  PlannedOp op;
  op.step = s.step;
  op.at = std::chrono::nanoseconds(
      static_cast<int64_t>(std::llround(static_cast<double>(s.step) * 1e9 / s.options.rate)));
  if (s.step < n) {
    op.kind = OpKind::kSignup;
    op.customer = static_cast<int>(s.step);
    op.key = "c" + std::to_string(s.step) + "-" + s.key_prefix + "@load.sandbank.test";
    op.reference = "Customer " + std::to_string(s.step);
  } else if (s.step < 2 * n && s.options.mix.get_paid > 0) {
    s.planSalary(op, static_cast<int>(s.step - n));
  } else if (!s.follow_ups.empty() && s.follow_ups.top().due <= s.step) {
    PlannedOp f = s.follow_ups.top().op;
    s.follow_ups.pop();
    f.step = op.step;
    f.at = op.at;
    if (f.kind == OpKind::kCardClear) f.key = s.keyFor(op.step, "clear");
    if (f.kind == OpKind::kCardReverse) f.key = s.keyFor(op.step, "rev");
    op = std::move(f);
  } else {
    s.planMix(op);
  }
  op.trace_id = s.traceIdFor(op.step);
  ++s.step;
  return op;
}

std::vector<PlannedOp> plan(const LoadOptions& options, uint64_t max_ops) {
  std::vector<PlannedOp> out;
  if (!validateOptions(options).ok()) return out;
  uint64_t n = plannedOperationCount(options);
  if (n == 0) n = static_cast<uint64_t>(options.customers);  // unbounded: the sign-ups
  if (max_ops != kWholePlan) n = max_ops;
  PlanGenerator gen(options);
  out.reserve(n);
  for (uint64_t i = 0; i < n; ++i) out.push_back(gen.next());
  return out;
}

}  // namespace sandbank::load
