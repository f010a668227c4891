// makeOperationLink: the one BankLink behind both makeSimulatorLink and makeRemoteLink -
// the operation table and reset() over a BankAccess (how the bank is reached).
// Thread-safety: as BankLink.
#pragma once

#include <memory>

#include "bank_access.h"
#include "sandbank/scenario/bank_link.h"

namespace sandbank::scenario {

// Reads the descriptor set and the run-state file of `options`. Errors: NotFound or
// InvalidArgument for a missing or bad descriptor set or run-state file.
Result<std::unique_ptr<BankLink>> makeOperationLink(std::unique_ptr<BankAccess> access, LinkOptions options);

}  // namespace sandbank::scenario
