// FlowFilter: which events a live subscriber or a query wants (by trace, service, kind,
// method/topic/table glob, status, free text and simulated-time range). The same
// predicate serves the hub's subscribers, the live query and the recording query, so
// all three agree on what matches.
// Thread-safety: a value type; matches() is const and may run on any thread.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "sandbank/flow/flow_event.h"

namespace sandbank::flow {

struct FlowFilter {
  // Exact trace id; empty = any.
  std::string trace_id;
  // Service name that is the source or the destination. "store" also matches
  // "store/node-1" (a name followed by '/'). Empty = any.
  std::string service;
  // Bit (1 << kind) per wanted FlowKind; 0 = every kind. Use withKinds()/addKind().
  uint32_t kinds = 0;
  // Glob ('*' any run, '?' one char) matched against method, topic and table; the event
  // matches when any of the three matches. Empty = any.
  std::string what_glob;
  // Exact status ("OK", "UNAVAILABLE", ...); empty = any.
  std::string status;
  // Only events whose status is not "OK", plus fault events.
  bool errors_only = false;
  // Case-insensitive (ASCII) substring of any of: trace id, source, destination, method,
  // topic, consumer group, keyspace, table, partition key, status, detail. Empty = any.
  std::string text;
  // Half-open range [from, to) on start_sim_us. Unset = unbounded.
  std::optional<int64_t> from_sim_us;
  std::optional<int64_t> to_sim_us;

  FlowFilter& addKind(FlowKind k) {
    kinds |= (1u << static_cast<unsigned>(k));
    return *this;
  }
  bool wantsKind(FlowKind k) const {
    return kinds == 0 || (kinds & (1u << static_cast<unsigned>(k))) != 0;
  }
  // True when the filter accepts every event.
  bool matchesAll() const;
  bool matches(const FlowEvent& e) const;
};

// Shell-style glob: '*' matches any run (including empty), '?' one character. No
// character classes. Case-sensitive.
bool globMatch(std::string_view pattern, std::string_view text);

// True when `name` is `service` or starts with `service` + "/".
bool serviceMatches(std::string_view service, std::string_view name);

}  // namespace sandbank::flow
