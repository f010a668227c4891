// FakeAccount: the account service's Get over gRPC, answering from a map the test fills;
// it can be told to fail every call with UNAVAILABLE (the account service down).
// Thread-safety: all methods lock mu_; gRPC threads call Get.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <map>
#include <mutex>
#include <string>

#include "sandbank/bank/account.grpc.pb.h"

namespace sandbank::bank::testing {

class FakeAccount final : public ::sandbank::bank::account::Account::Service {
 public:
  using Record = ::sandbank::bank::account::AccountRecord;

  void put(const std::string& id, ::sandbank::bank::account::AccountStatus status, int64_t overdraft = 0,
           const std::string& currency = "GBP") {
    Record r;
    r.set_account_id(id);
    r.set_user_id("user_" + id);
    r.set_currency(currency);
    r.set_status(status);
    r.set_overdraft_limit_minor_units(overdraft);
    r.set_ledger_address("account:" + id + ":main");
    std::lock_guard lock(mu_);
    accounts_[id] = r;
  }
  void setDown(bool down) { down_ = down; }
  int calls() const { return calls_; }

  grpc::Status Get(grpc::ServerContext*, const ::sandbank::bank::account::GetAccountRequest* req, Record* out) override {
    ++calls_;
    if (down_) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "fake account service is down");
    std::lock_guard lock(mu_);
    auto it = accounts_.find(req->account_id());
    if (it == accounts_.end()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "no account " + req->account_id());
    *out = it->second;
    return grpc::Status::OK;
  }

 private:
  std::mutex mu_;
  std::map<std::string, Record> accounts_;  // guarded by mu_
  std::atomic<bool> down_{false};
  std::atomic<int> calls_{0};
};

}  // namespace sandbank::bank::testing
