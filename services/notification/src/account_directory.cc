// The account service as an AccountDirectory; see account_directory.h.
#include "sandbank/notification/account_directory.h"

#include <grpcpp/grpcpp.h>

#include "sandbank/bank/account.grpc.pb.h"

namespace sandbank::notification {
namespace {

class AccountServiceDirectory final : public AccountDirectory {
 public:
  AccountServiceDirectory(std::shared_ptr<grpc::Channel> channel, std::chrono::milliseconds timeout)
      : stub_(::sandbank::bank::account::Account::NewStub(std::move(channel))), timeout_(timeout) {}

  Result<std::string> userOf(const std::string& account_id) override {
    ::sandbank::bank::account::GetAccountRequest req;
    req.set_account_id(account_id);
    ::sandbank::bank::account::AccountRecord out;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + timeout_);
    grpc::Status s = stub_->Get(&ctx, req, &out);
    if (s.ok()) return out.user_id();
    const std::string why = "account service Get(" + account_id + "): " + s.error_message();
    switch (s.error_code()) {
      case grpc::StatusCode::NOT_FOUND: return NotFound(why);
      case grpc::StatusCode::DEADLINE_EXCEEDED:
        return DeadlineExceeded(why + " (no answer within " + std::to_string(timeout_.count()) +
                                " ms; NOTIFICATION_UPSTREAM_TIMEOUT sets the limit)");
      default: return Unavailable(why);
    }
  }

 private:
  std::unique_ptr<::sandbank::bank::account::Account::Stub> stub_;
  std::chrono::milliseconds timeout_;
};

}  // namespace

std::unique_ptr<AccountDirectory> makeAccountServiceDirectory(std::shared_ptr<grpc::Channel> channel,
                                                              std::chrono::milliseconds timeout) {
  return std::make_unique<AccountServiceDirectory>(std::move(channel), timeout);
}

}  // namespace sandbank::notification
