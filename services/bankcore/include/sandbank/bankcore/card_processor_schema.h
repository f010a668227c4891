// The card processor's tables, in CQL (keyspace `card_processor`), shared with the
// invariant checker (which can match holds to authorisations and find holds past expiry).
//
//   idempotency     scheme message id -> authorisation / clearing / reversal (LWT)
//   authorisations  one row per authorisation. state moves forward only, by LWT:
//                     approved -> cleared | reversed | expired   (IF state = 'approved')
//                     declined is final from the start.
//                   end_key names the scheme message (or "expiry") that ended it;
//                   clearing_key the presentment that cleared or force-posted it (set
//                   once, IF clearing_key = '').
//   hold_expiry     approved authorisations by (bucket, expires_us): the sweeper reads
//                   `WHERE bucket = ? AND expires_us <= now` per bucket instead of a full
//                   scan (kExpiryBuckets partitions, bucketOf(authorisation_id)). A row
//                   goes once its authorisation has ended and its hold is ended.
// Thread-safety: constants only.
#pragma once

#include <array>
#include <string_view>

namespace sandbank::bank::card_processor_schema {

inline constexpr std::string_view kKeyspace = "card_processor";
inline constexpr int kExpiryBuckets = 16;

inline constexpr std::array<std::string_view, 3> kTables = {
    "CREATE TABLE IF NOT EXISTS card_processor.idempotency (idempotency_key text PRIMARY KEY, kind text, "
    "result_id text, fingerprint text, created_us bigint)",
    "CREATE TABLE IF NOT EXISTS card_processor.authorisations (authorisation_id text PRIMARY KEY, "
    "idempotency_key text, account_id text, card_id text, amount bigint, currency text, merchant blob, "
    "state text, decline_reason text, fraud_check text, hold_id text, created_us bigint, expires_us bigint, "
    "end_key text, ended_us bigint, end_done boolean, clearing_key text, cleared_amount bigint, "
    "clearing_entryset_id text, force_posted boolean)",
    "CREATE TABLE IF NOT EXISTS card_processor.hold_expiry (bucket int, expires_us bigint, authorisation_id text, "
    "PRIMARY KEY (bucket, expires_us, authorisation_id))",
};

// Authorisation states as stored.
inline constexpr std::string_view kApproved = "approved";
inline constexpr std::string_view kDeclined = "declined";
inline constexpr std::string_view kCleared = "cleared";
inline constexpr std::string_view kReversed = "reversed";
inline constexpr std::string_view kExpired = "expired";

// The end_key of an expiry (the other ends carry the scheme message id).
inline constexpr std::string_view kExpiryEndKey = "expiry";

// The ledger address card settlements are posted to (DOMAIN.md, ledger README).
inline constexpr std::string_view kSchemePendingAddress = "scheme:mastercard:pending";

}  // namespace sandbank::bank::card_processor_schema
