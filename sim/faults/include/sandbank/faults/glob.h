// Shell-style glob matching for fault rules: '*' matches any run of characters
// (including '/' and '.'), '?' matches one character; everything else is literal.
// Thread-safety: pure function.
#pragma once

#include <string_view>

namespace sandbank::faults {

// True when `text` matches `pattern` in full. An empty pattern matches only "".
bool globMatch(std::string_view pattern, std::string_view text);

}  // namespace sandbank::faults
