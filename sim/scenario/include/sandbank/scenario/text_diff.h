// Line diffs for assertion messages: what a scenario expected against what it got, one
// line per row, marked "-" (expected only), "+" (actual only) or " " (both).
// Thread-safety: pure functions.
#pragma once

#include <string>

namespace sandbank::scenario {

// A unified-style diff of two texts by lines (longest common subsequence), headed by
// "--- expected" and "+++ actual". Equal texts give just the two header lines.
std::string lineDiff(const std::string& expected, const std::string& actual);

}  // namespace sandbank::scenario
