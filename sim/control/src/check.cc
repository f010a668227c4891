// Formatting of invariant check outcomes; see check.h.
#include "sandbank/control/check.h"

#include <algorithm>
#include <map>

namespace sandbank::control {

std::string formatCheckOutcome(const CheckOutcome& outcome) {
  std::map<int, int> per;
  for (const auto& v : outcome.violations) ++per[v.invariant];
  std::vector<int> all = outcome.invariants;
  for (const auto& [n, c] : per)
    if (std::find(all.begin(), all.end(), n) == all.end()) all.push_back(n);
  std::sort(all.begin(), all.end());
  std::string out;
  for (int n : all) {
    auto it = per.find(n);
    out += "invariant " + std::to_string(n) + ": " +
           (it == per.end() ? std::string("ok") : std::to_string(it->second) + " violation(s)") + "\n";
  }
  for (const auto& v : outcome.violations) {
    out += "\n[" + std::to_string(v.invariant) + "] " + v.subject + ": " + v.detail + "\n";
    if (!v.trace_id.empty()) out += "    trace " + v.trace_id + "\n";
    for (const auto& r : v.rows) out += "    " + r + "\n";
  }
  if (!outcome.counts.empty()) {
    out += "\nread:";
    for (const auto& [what, n] : outcome.counts) out += " " + what + "=" + std::to_string(n);
    out += "\n";
  }
  for (const auto& n : outcome.notes) out += "note: " + n + "\n";
  out += outcome.clean() ? "clean\n" : std::to_string(outcome.violations.size()) + " violation(s)\n";
  return out;
}

}  // namespace sandbank::control
