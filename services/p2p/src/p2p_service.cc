// sandbank.bank.p2p.P2p over gRPC: each RPC forwards to Transfers and turns its Status
// into a grpc::Status with the same code and reason. Thread-safety: as Transfers.
#include "sandbank/p2p/p2p_service.h"

#include <grpcpp/grpcpp.h>

#include "sandbank/bank/p2p.grpc.pb.h"
#include "sandbank/p2p/transfers.h"

namespace sandbank::p2p {
namespace {

template <class T>
grpc::Status reply(Result<T> r, T* out) {
  if (!r.ok()) return grpc::Status(static_cast<grpc::StatusCode>(r.status().code()), r.status().message());
  *out = std::move(r).value();
  return grpc::Status::OK;
}

class P2pGrpcService final : public pb::P2p::Service {
 public:
  explicit P2pGrpcService(Transfers& transfers) : t_(transfers) {}
  grpc::Status CreateTransfer(grpc::ServerContext*, const pb::CreateTransferRequest* r,
                              pb::TransferRecord* out) override {
    return reply(t_.createTransfer(*r), out);
  }
  grpc::Status GetTransfer(grpc::ServerContext*, const pb::GetTransferRequest* r, pb::TransferRecord* out) override {
    return reply(t_.getTransfer(r->transfer_id()), out);
  }

 private:
  Transfers& t_;
};

}  // namespace

std::unique_ptr<grpc::Service> makeP2pGrpcService(Transfers& transfers) {
  return std::make_unique<P2pGrpcService>(transfers);
}

}  // namespace sandbank::p2p
