// Small text utilities shared by parsers and CLIs: edit distance for did-you-mean hints,
// and JSON string escaping. Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sandbank {

// Levenshtein distance between a and b.
size_t editDistance(std::string_view a, std::string_view b);

// The candidate closest to `word`, or "" when none is close enough to be a likely typo
// (distance <= max(1, word.size() / 3)).
std::string closestMatch(std::string_view word, const std::vector<std::string>& candidates);

// Appends `s` to `out` as a quoted JSON string, escaping control characters.
void appendJsonString(std::string& out, std::string_view s);

}  // namespace sandbank
