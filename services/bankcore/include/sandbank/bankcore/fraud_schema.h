// The fraud service's tables, in CQL (keyspace `fraud`): the payees each account has
// been allowed to pay, which the new-payee rule reads, and the money-out attempts of the
// velocity window, so a restarted instance still counts what happened before it started.
// Thread-safety: constants only.
#pragma once

#include <array>
#include <string_view>

namespace sandbank::bank::fraud_schema {

inline constexpr std::string_view kKeyspace = "fraud";

inline constexpr std::array<std::string_view, 2> kTables = {
    // One row per (payer, payee) once a transfer between them was allowed.
    "CREATE TABLE IF NOT EXISTS fraud.payees (from_account_id text, to_account_id text, first_us bigint, "
    "PRIMARY KEY (from_account_id, to_account_id))",
    // One row per money-out attempt, partitioned by account and by velocity window
    // (window_start = at_us rounded down to a multiple of the window), so the attempts of
    // the window ending now are in at most two partitions. attempt_id is "a:<instance
    // nonce>:<seq>" for an attempt an instance scored itself, "t:<transaction id>" for one
    // learnt from transaction.events; transaction_id is set once the attempt is known to
    // be that transaction (so it is counted once however many rows name it). Rows are
    // written with a TTL of two windows.
    "CREATE TABLE IF NOT EXISTS fraud.velocity (account_id text, window_start bigint, attempt_id text, at_us bigint, "
    "kind text, minor_units bigint, currency text, transaction_id text, "
    "PRIMARY KEY ((account_id, window_start), attempt_id))",
};

}  // namespace sandbank::bank::fraud_schema
