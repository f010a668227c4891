// FlowFilter matching and globs. Pure functions, no shared state.
#include "sandbank/flow/flow_filter.h"

#include <algorithm>

namespace sandbank::flow {
namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// `needle_lower` is already lower-case.
bool containsNoCase(std::string_view hay, std::string_view needle_lower) {
  if (needle_lower.size() > hay.size()) return false;
  auto it = std::search(hay.begin(), hay.end(), needle_lower.begin(), needle_lower.end(),
                        [](char a, char b) { return lower(a) == b; });
  return it != hay.end();
}

}  // namespace

bool globMatch(std::string_view p, std::string_view t) {
  // Iterative matcher with single-star backtracking: O(|p| * |t|) worst case.
  size_t pi = 0, ti = 0, star = std::string_view::npos, mark = 0;
  while (ti < t.size()) {
    if (pi < p.size() && (p[pi] == '?' || p[pi] == t[ti])) {
      ++pi;
      ++ti;
    } else if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = ti;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      ti = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

bool serviceMatches(std::string_view service, std::string_view name) {
  if (name.size() < service.size() || name.substr(0, service.size()) != service) return false;
  return name.size() == service.size() || name[service.size()] == '/';
}

bool FlowFilter::matchesAll() const {
  return trace_id.empty() && service.empty() && kinds == 0 && what_glob.empty() &&
         status.empty() && !errors_only && text.empty() && !from_sim_us && !to_sim_us;
}

bool FlowFilter::matches(const FlowEvent& e) const {
  if (!wantsKind(e.kind)) return false;
  if (!trace_id.empty() && e.trace_id != trace_id) return false;
  if (from_sim_us && e.start_sim_us < *from_sim_us) return false;
  if (to_sim_us && e.start_sim_us >= *to_sim_us) return false;
  if (!service.empty() && !serviceMatches(service, e.source) &&
      !serviceMatches(service, e.destination))
    return false;
  if (!status.empty() && e.status != status) return false;
  if (errors_only && e.status == "OK" && e.kind != FlowKind::kFault) return false;
  if (!what_glob.empty() && !globMatch(what_glob, e.method) && !globMatch(what_glob, e.topic) &&
      !globMatch(what_glob, e.table))
    return false;
  if (!text.empty()) {
    std::string needle(text);
    for (char& c : needle) c = lower(c);
    const std::string* fields[] = {&e.trace_id, &e.source,   &e.destination,    &e.method,
                                   &e.topic,    &e.consumer_group, &e.keyspace, &e.table,
                                   &e.partition_key, &e.status, &e.detail};
    bool any = false;
    for (const std::string* f : fields) {
      if (containsNoCase(*f, needle)) {
        any = true;
        break;
      }
    }
    if (!any) return false;
  }
  return true;
}

}  // namespace sandbank::flow
