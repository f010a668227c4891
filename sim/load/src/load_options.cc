// Option validation for load runs. Pure functions.
#include "sandbank/load/load_options.h"

#include <charconv>
#include <cmath>
#include <sstream>

#include "sandbank/core/duration.h"

namespace sandbank::load {
namespace {

std::string num(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

Status checkWeight(std::string_view name, double v) {
  if (!std::isfinite(v) || v < 0) {
    return InvalidArgument("mix weight " + std::string(name) + " must be >= 0, got " + num(v));
  }
  return OkStatus();
}

Status checkFraction(std::string_view name, double v) {
  if (!std::isfinite(v) || v < 0 || v > 1) {
    return InvalidArgument("mix " + std::string(name) + " must be within [0, 1], got " + num(v));
  }
  return OkStatus();
}

}  // namespace

std::string_view opKindName(OpKind kind) {
  switch (kind) {
    case OpKind::kSignup: return "signup";
    case OpKind::kGetPaid: return "get_paid";
    case OpKind::kCardAuthorise: return "card_authorise";
    case OpKind::kCardRetransmit: return "card_retransmit";
    case OpKind::kCardClear: return "card_clear";
    case OpKind::kCardReverse: return "card_reverse";
    case OpKind::kTransfer: return "transfer";
    case OpKind::kPotCreate: return "pot_create";
    case OpKind::kPotDeposit: return "pot_deposit";
    case OpKind::kPotWithdraw: return "pot_withdraw";
    case OpKind::kPayment: return "payment";
    case OpKind::kReadBalance: return "read_balance";
    case OpKind::kReadFeed: return "read_feed";
  }
  return "unknown";
}

Status splitHostPort(std::string_view edge, std::string* host, std::string* port) {
  auto colon = edge.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == edge.size()) {
    return InvalidArgument("--edge must be host:port, got '" + std::string(edge) + "'");
  }
  std::string_view p = edge.substr(colon + 1);
  int value = 0;
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), value);
  if (ec != std::errc() || end != p.data() + p.size() || value < 1 || value > 65535) {
    return InvalidArgument("--edge port must be 1..65535, got '" + std::string(p) + "'");
  }
  std::string_view h = edge.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  if (host) *host = std::string(h);
  if (port) *port = std::string(p);
  return OkStatus();
}

uint64_t plannedOperationCount(const LoadOptions& o) {
  if (o.duration.count() <= 0 || !(o.rate > 0) || !std::isfinite(o.rate)) return 0;
  double n = std::floor(o.rate * static_cast<double>(o.duration.count()) / 1000.0);
  return n < 1 ? 0 : static_cast<uint64_t>(n);
}

Status validateOptions(const LoadOptions& o) {
  if (o.customers < 1) return InvalidArgument("--customers must be >= 1, got " + std::to_string(o.customers));
  if (o.customers > 1'000'000) {
    return InvalidArgument("--customers must be <= 1000000, got " + std::to_string(o.customers));
  }
  if (!std::isfinite(o.rate) || o.rate <= 0) return InvalidArgument("--rate must be > 0, got " + num(o.rate));
  if (o.rate > 1'000'000) return InvalidArgument("--rate must be <= 1000000, got " + num(o.rate));
  if (o.duration.count() < 0) {
    return InvalidArgument("--duration must be >= 0 (0 = until stopped), got " +
                           std::to_string(o.duration.count()) + "ms");
  }
  if (o.concurrency < 1 || o.concurrency > 1024) {
    return InvalidArgument("--concurrency must be within 1..1024, got " + std::to_string(o.concurrency));
  }
  SANDBANK_RETURN_IF_ERROR(splitHostPort(o.edge, nullptr, nullptr));
  if (o.scheme_key.empty()) return InvalidArgument("--scheme-key must not be empty");
  if (o.currency.size() != 3) return InvalidArgument("currency must be a 3-letter code, got '" + o.currency + "'");
  if (o.request_timeout.count() <= 0) {
    return InvalidArgument("request timeout must be > 0, got " + std::to_string(o.request_timeout.count()) + "ms");
  }
  const OperationMix& m = o.mix;
  SANDBANK_RETURN_IF_ERROR(checkWeight("get_paid", m.get_paid));
  SANDBANK_RETURN_IF_ERROR(checkWeight("card_spend", m.card_spend));
  SANDBANK_RETURN_IF_ERROR(checkWeight("transfer", m.transfer));
  SANDBANK_RETURN_IF_ERROR(checkWeight("pot", m.pot));
  SANDBANK_RETURN_IF_ERROR(checkWeight("payment", m.payment));
  SANDBANK_RETURN_IF_ERROR(checkWeight("read_balance", m.read_balance));
  SANDBANK_RETURN_IF_ERROR(checkWeight("read_feed", m.read_feed));
  double total = m.get_paid + m.card_spend + m.transfer + m.pot + m.payment + m.read_balance + m.read_feed;
  if (total <= 0) return InvalidArgument("mix weights must not all be 0");
  SANDBANK_RETURN_IF_ERROR(checkFraction("reverse_fraction", m.reverse_fraction));
  SANDBANK_RETURN_IF_ERROR(checkFraction("unsettled_fraction", m.unsettled_fraction));
  SANDBANK_RETURN_IF_ERROR(checkFraction("clear_differs_fraction", m.clear_differs_fraction));
  SANDBANK_RETURN_IF_ERROR(checkFraction("retransmit_fraction", m.retransmit_fraction));
  SANDBANK_RETURN_IF_ERROR(checkFraction("overspend_fraction", m.overspend_fraction));
  if (m.reverse_fraction + m.unsettled_fraction > 1) {
    return InvalidArgument("mix reverse_fraction + unsettled_fraction must be <= 1, got " +
                           num(m.reverse_fraction + m.unsettled_fraction));
  }
  if (o.duration.count() > 0) {
    uint64_t n = plannedOperationCount(o);
    if (n < static_cast<uint64_t>(o.customers)) {
      return InvalidArgument("--customers " + std::to_string(o.customers) + " needs " +
                             std::to_string(o.customers) + " sign-ups, but --rate " + num(o.rate) +
                             " over --duration " + formatDuration(o.duration) + " schedules only " +
                             std::to_string(n) + " operations; raise --rate or --duration");
    }
  }
  return OkStatus();
}

}  // namespace sandbank::load
