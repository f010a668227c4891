// The gRPC face of the card service (sandbank.bank.card.Card), free of gRPC headers.
// Thread-safety: as Cards (fully).
#pragma once

#include <memory>

namespace grpc {
class Service;
}

namespace sandbank::card {

class Cards;

// `cards` must outlive the service.
std::unique_ptr<grpc::Service> makeCardGrpcService(Cards& cards);

}  // namespace sandbank::card
