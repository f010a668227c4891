// Environment helpers.
#include "sandbank/core/environment.h"

#include <cctype>

extern char** environ;

namespace sandbank {

std::map<std::string, std::string> currentEnvironment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    auto eq = kv.find('=');
    if (eq != std::string_view::npos) env.emplace(kv.substr(0, eq), kv.substr(eq + 1));
  }
  return env;
}

std::string serviceAddressVariable(std::string_view service) {
  std::string out = "SANDBANK_ADDR_";
  for (char c : service) out.push_back(c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  return out;
}

}  // namespace sandbank
