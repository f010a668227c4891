// Who owns an account: the notification service pushes to the devices of the account's
// user, so it asks the account service (through the mesh) once per account and keeps
// the answer (an account never changes owner). An interface so tests can use a fake
// account service or none. Thread-safety: implementations are safe from any thread.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "sandbank/core/result.h"

namespace grpc {
class Channel;
}

namespace sandbank::notification {

class AccountDirectory {
 public:
  virtual ~AccountDirectory() = default;
  // The user id of `account_id`. NOT_FOUND when the account service does not know the
  // account; UNAVAILABLE / DEADLINE_EXCEEDED (with the reason) when it could not answer.
  virtual Result<std::string> userOf(const std::string& account_id) = 0;
};

// Asks sandbank.bank.account.Account/Get on `channel`, each call under `timeout`.
std::unique_ptr<AccountDirectory> makeAccountServiceDirectory(std::shared_ptr<grpc::Channel> channel,
                                                              std::chrono::milliseconds timeout);

}  // namespace sandbank::notification
