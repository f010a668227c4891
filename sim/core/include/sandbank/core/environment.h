// The process environment and the variable names the simulator and the kit agree on.
// Thread-safety: currentEnvironment() reads `environ`; do not call it while another
// thread calls setenv().
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace sandbank {

// Every NAME=value of this process.
std::map<std::string, std::string> currentEnvironment();

// The variable holding a service's direct address: "card-processor" ->
// "SANDBANK_ADDR_CARD_PROCESSOR". The supervisor sets it; the kit reads it.
std::string serviceAddressVariable(std::string_view service);

}  // namespace sandbank
