// sandbank.bank.ledger.Ledger over gRPC: each RPC forwards to Ledger and turns its Status
// into a grpc::Status with the same code and reason. Thread-safety: as Ledger.
#include "sandbank/ledger/ledger_service.h"

#include <grpcpp/grpcpp.h>

#include "sandbank/bank/ledger.grpc.pb.h"
#include "sandbank/ledger/ledger.h"

namespace sandbank::ledger {
namespace {

grpc::Status toGrpc(const Status& s) {
  return s.ok() ? grpc::Status::OK : grpc::Status(static_cast<grpc::StatusCode>(s.code()), s.message());
}

template <class T>
grpc::Status reply(Result<T> r, T* out) {
  if (!r.ok()) return toGrpc(r.status());
  *out = std::move(r).value();
  return grpc::Status::OK;
}

class LedgerGrpcService final : public pb::Ledger::Service {
 public:
  explicit LedgerGrpcService(Ledger& ledger) : ledger_(ledger) {}

  grpc::Status PostEntrySet(grpc::ServerContext*, const pb::PostEntrySetRequest* req,
                            pb::PostEntrySetResponse* resp) override {
    return reply(ledger_.post(*req), resp);
  }
  grpc::Status GetEntrySet(grpc::ServerContext*, const pb::GetEntrySetRequest* req, pb::EntrySet* resp) override {
    return reply(ledger_.getEntrySet(req->entryset_id()), resp);
  }
  grpc::Status GetBalance(grpc::ServerContext*, const pb::GetBalanceRequest* req, pb::Balance* resp) override {
    return reply(ledger_.balance(req->address(), req->verify()), resp);
  }
  grpc::Status ListEntries(grpc::ServerContext*, const pb::ListEntriesRequest* req,
                           pb::ListEntriesResponse* resp) override {
    return reply(ledger_.listEntries(req->address(), req->limit()), resp);
  }
  grpc::Status CreateHold(grpc::ServerContext*, const pb::CreateHoldRequest* req, pb::Hold* resp) override {
    return reply(ledger_.createHold(*req), resp);
  }
  grpc::Status ReleaseHold(grpc::ServerContext*, const pb::ReleaseHoldRequest* req, pb::Hold* resp) override {
    return reply(ledger_.releaseHold(*req), resp);
  }
  grpc::Status SettleHold(grpc::ServerContext*, const pb::SettleHoldRequest* req,
                          pb::SettleHoldResponse* resp) override {
    return reply(ledger_.settleHold(*req), resp);
  }
  grpc::Status GetHold(grpc::ServerContext*, const pb::GetHoldRequest* req, pb::Hold* resp) override {
    return reply(ledger_.getHold(req->hold_id()), resp);
  }
  grpc::Status ListHolds(grpc::ServerContext*, const pb::ListHoldsRequest* req, pb::ListHoldsResponse* resp) override {
    return reply(ledger_.listHolds(req->address(), req->active_only()), resp);
  }

 private:
  Ledger& ledger_;
};

}  // namespace

std::unique_ptr<grpc::Service> makeLedgerGrpcService(Ledger& ledger) {
  return std::make_unique<LedgerGrpcService>(ledger);
}

}  // namespace sandbank::ledger
