// Money and ledger vocabulary shared by the bank services and the invariant checker:
// amounts in integer minor units, ledger addresses, EntrySet legs and their per-currency
// zero-sum check, and the stable bucket hash used for directory tables.
// Thread-safety: pure functions and value types.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sandbank/core/status.h"
#include "sandbank/core/strong_id.h"

namespace sandbank::bank {

struct AccountIdTag {};
using AccountId = StrongId<AccountIdTag, std::string>;

// One leg of an EntrySet: positive credits the address, negative debits it.
struct Leg {
  std::string address;
  int64_t minor_units = 0;
  std::string currency;
  friend bool operator==(const Leg&, const Leg&) = default;
};

// OK for a three-letter upper-case ISO 4217 code ("GBP").
Status validateCurrency(std::string_view currency);

// Addresses are "<kind>:<part>[:<part>...]" with kind one of account, pot, scheme,
// external, suspense, fee; parts are [A-Za-z0-9_.-]+, at most 200 characters overall.
// account addresses are account:<id>:<purpose> (purpose "main" for the current account).
Status validateAddress(std::string_view address);

// "account:<id>:main".
std::string mainAddress(const AccountId& account);
// The account id of an account:<id>:... address, or nullopt.
std::optional<AccountId> accountOf(std::string_view address);

// Per currency: the sum of the legs. Legs with overflow are reported by checkBalanced.
std::map<std::string, int64_t> sumsByCurrency(const std::vector<Leg>& legs);

// The EntrySet rule: at least two legs, every leg a valid address, currency and non-zero
// amount, and the legs summing to zero in each currency. INVALID_ARGUMENT names the
// first problem, e.g. "entries do not balance in GBP: they sum to 250 (must be 0)".
Status checkBalanced(const std::vector<Leg>& legs);

// A canonical text form "address currency amount\n" per leg, in order (stored in the
// entrysets table and used as part of an idempotency fingerprint).
std::string encodeLegs(const std::vector<Leg>& legs);
// The inverse; INVALID_ARGUMENT (naming the line) on malformed text.
Status decodeLegs(std::string_view text, std::vector<Leg>* legs);

// FNV-1a 64 of `text`: stable across processes and builds (unlike std::hash).
uint64_t stableHash(std::string_view text);
// stableHash(text) % buckets, for directory tables partitioned by bucket.
int32_t bucketOf(std::string_view text, int32_t buckets);

}  // namespace sandbank::bank
