// Accounts: users and their accounts (currency, overdraft limit, status) kept in the
// store (keyspace `account`, tables in sandbank/bankcore/account_schema.h). Creation is
// idempotent by key (LWT INSERT ... IF NOT EXISTS); every change is published on
// `account.events`, keyed by account id.
// Thread-safety: every method may be called concurrently.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "sandbank/bank/account.pb.h"
#include "sandbank/bankcore/idempotency.h"
#include "sandbank/bankcore/write_timestamps.h"
#include "sandbank/core/clock.h"
#include "sandbank/core/result.h"
#include "sandbank/kit/bus_client.h"
#include "sandbank/kit/store_client.h"

namespace sandbank::account {

namespace pb = ::sandbank::bank::account;

struct AccountsOptions {
  std::string consistency = "LOCAL_QUORUM";
  int replication_factor = 3;
  std::string topic = "account.events";
};

class Accounts {
 public:
  // Creates the keyspace and tables if missing. `store` and `clock` must outlive this;
  // `bus` may be null (nothing is published).
  static Result<std::unique_ptr<Accounts>> open(kit::StoreClient& store, kit::BusProducer* bus, const Clock& clock,
                                                AccountsOptions options = {});
  ~Accounts();

  // As in proto/sandbank/bank/account.proto. Errors: INVALID_ARGUMENT (with the field
  // and why), NOT_FOUND (unknown user or account), FAILED_PRECONDITION (key reused for a
  // different request; a closed account changing), or the store's errors.
  Result<pb::User> createUser(const pb::CreateUserRequest& request);
  Result<pb::User> getUser(const std::string& user_id);
  Result<pb::AccountRecord> create(const pb::CreateAccountRequest& request);
  Result<pb::AccountRecord> get(const std::string& account_id);
  Result<pb::ListByUserResponse> listByUser(const std::string& user_id);
  Result<pb::AccountRecord> setStatus(const pb::SetStatusRequest& request);
  Result<pb::AccountRecord> setOverdraft(const pb::SetOverdraftRequest& request);

  struct Statements;

 private:
  Accounts(kit::StoreClient& store, kit::BusProducer* bus, const Clock& clock, AccountsOptions options);
  Status init();
  kit::StoreCall readCall() const;
  kit::StoreCall writeCall();
  Status writeAccount(const pb::AccountRecord& account);
  void publish(pb::AccountEvent::Kind kind, const pb::AccountRecord& account);

  kit::StoreClient& store_;
  kit::BusProducer* bus_;
  const Clock& clock_;
  AccountsOptions options_;
  std::unique_ptr<Statements> st_;
  bank::WriteTimestamps timestamps_;
  std::unique_ptr<bank::IdempotencyKeys> keys_;  // set by init()
  bank::IdGenerator ids_;
  std::mutex mu_;  // serialises status/overdraft changes
};

}  // namespace sandbank::account
