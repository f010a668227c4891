// The gRPC face of the card processor (sandbank.bank.card_processor.CardProcessor), free
// of gRPC headers. Thread-safety: as CardProcessor (fully).
#pragma once

#include <memory>

namespace grpc {
class Service;
}

namespace sandbank::card_processor {

class CardProcessor;

// `processor` must outlive the service.
std::unique_ptr<grpc::Service> makeCardProcessorGrpcService(CardProcessor& processor);

}  // namespace sandbank::card_processor
