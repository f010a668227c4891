// Address, currency and EntrySet validation; see money.h. Pure functions.
#include "sandbank/bankcore/money.h"

#include <array>
#include <charconv>
#include <limits>

namespace sandbank::bank {
namespace {

constexpr std::array<std::string_view, 6> kKinds = {"account", "pot", "scheme", "external", "suspense", "fee"};

bool partChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
         c == '-';
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t p = s.find(sep, start);
    out.push_back(s.substr(start, p == std::string_view::npos ? std::string_view::npos : p - start));
    if (p == std::string_view::npos) break;
    start = p + 1;
  }
  return out;
}

}  // namespace

Status validateCurrency(std::string_view currency) {
  if (currency.size() != 3 || !(currency[0] >= 'A' && currency[0] <= 'Z') ||
      !(currency[1] >= 'A' && currency[1] <= 'Z') || !(currency[2] >= 'A' && currency[2] <= 'Z')) {
    return InvalidArgument("currency '" + std::string(currency) + "' is not a three-letter ISO 4217 code like GBP");
  }
  return OkStatus();
}

Status validateAddress(std::string_view address) {
  const std::string quoted = "address '" + std::string(address) + "'";
  if (address.empty()) return InvalidArgument("an entry has an empty address");
  if (address.size() > 200) return InvalidArgument(quoted + " is longer than 200 characters");
  auto parts = split(address, ':');
  bool known_kind = false;
  for (auto k : kKinds) known_kind = known_kind || parts[0] == k;
  if (!known_kind) {
    return InvalidArgument(quoted + " must start with account:, pot:, scheme:, external:, suspense: or fee:");
  }
  if (parts.size() < 2) return InvalidArgument(quoted + " needs at least one part after the kind");
  for (auto p : parts) {
    if (p.empty()) return InvalidArgument(quoted + " has an empty part");
    for (char c : p) {
      if (!partChar(c)) return InvalidArgument(quoted + " may only use letters, digits, '_', '.', '-' between ':'");
    }
  }
  if (parts[0] == "account" && parts.size() != 3) {
    return InvalidArgument(quoted + " must look like account:<id>:<purpose>, e.g. account:acc_1:main");
  }
  return OkStatus();
}

std::string mainAddress(const AccountId& account) { return "account:" + account.value() + ":main"; }

std::optional<AccountId> accountOf(std::string_view address) {
  if (address.substr(0, 8) != "account:") return std::nullopt;
  auto rest = address.substr(8);
  auto colon = rest.find(':');
  if (colon == 0) return std::nullopt;
  return AccountId(std::string(rest.substr(0, colon)));
}

std::map<std::string, int64_t> sumsByCurrency(const std::vector<Leg>& legs) {
  std::map<std::string, int64_t> sums;
  for (const Leg& l : legs) {
    int64_t& s = sums[l.currency];
    int64_t out = 0;
    // Wraps instead of trapping; checkBalanced rejects overflowing sets first.
    if (__builtin_add_overflow(s, l.minor_units, &out)) out = std::numeric_limits<int64_t>::min();
    s = out;
  }
  return sums;
}

Status checkBalanced(const std::vector<Leg>& legs) {
  if (legs.size() < 2) {
    return InvalidArgument("an EntrySet needs at least two entries (a debit and a credit), got " +
                           std::to_string(legs.size()));
  }
  std::map<std::string, int64_t> sums;
  for (size_t i = 0; i < legs.size(); ++i) {
    const Leg& l = legs[i];
    if (Status s = validateAddress(l.address); !s.ok()) return s.withContext("entry " + std::to_string(i));
    if (Status s = validateCurrency(l.currency); !s.ok()) return s.withContext("entry " + std::to_string(i));
    if (l.minor_units == 0) {
      return InvalidArgument("entry " + std::to_string(i) + " at " + l.address + " has amount 0; omit it");
    }
    int64_t& sum = sums[l.currency];
    if (__builtin_add_overflow(sum, l.minor_units, &sum)) {
      return InvalidArgument("entries in " + l.currency + " overflow a 64-bit sum at entry " + std::to_string(i));
    }
  }
  for (const auto& [currency, sum] : sums) {
    if (sum != 0) {
      return InvalidArgument("entries do not balance in " + currency + ": they sum to " + std::to_string(sum) +
                             " (debits and credits must sum to 0 in each currency)");
    }
  }
  return OkStatus();
}

std::string encodeLegs(const std::vector<Leg>& legs) {
  std::string out;
  for (const Leg& l : legs) out += l.address + " " + l.currency + " " + std::to_string(l.minor_units) + "\n";
  return out;
}

Status decodeLegs(std::string_view text, std::vector<Leg>* legs) {
  legs->clear();
  int line_no = 0;
  for (auto line : split(text, '\n')) {
    ++line_no;
    if (line.empty()) continue;
    auto f = split(line, ' ');
    if (f.size() != 3) return InvalidArgument("legs line " + std::to_string(line_no) + " is not 'address currency amount'");
    Leg l{std::string(f[0]), 0, std::string(f[1])};
    auto [ptr, ec] = std::from_chars(f[2].data(), f[2].data() + f[2].size(), l.minor_units);
    if (ec != std::errc() || ptr != f[2].data() + f[2].size()) {
      return InvalidArgument("legs line " + std::to_string(line_no) + " has a bad amount '" + std::string(f[2]) + "'");
    }
    legs->push_back(std::move(l));
  }
  return OkStatus();
}

uint64_t stableHash(std::string_view text) {
  uint64_t h = 14695981039346656037ULL;  // FNV-1a 64 offset basis
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

int32_t bucketOf(std::string_view text, int32_t buckets) {
  return static_cast<int32_t>(stableHash(text) % static_cast<uint64_t>(buckets));
}

}  // namespace sandbank::bank
