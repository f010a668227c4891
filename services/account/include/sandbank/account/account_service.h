// The gRPC face of the account service (sandbank.bank.account.Account), free of gRPC
// headers. Thread-safety: as Accounts (fully).
#pragma once

#include <memory>

namespace grpc {
class Service;
}

namespace sandbank::account {

class Accounts;

// `accounts` must outlive the service.
std::unique_ptr<grpc::Service> makeAccountGrpcService(Accounts& accounts);

}  // namespace sandbank::account
