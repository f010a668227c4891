// ensureTopic over sandbank.bus.Bus/CreateTopic; see topics.h.
#include "sandbank/bankcore/topics.h"

#include <grpcpp/grpcpp.h>

#include "sandbank/bus.grpc.pb.h"

namespace sandbank::bank {

Status ensureTopic(const std::string& bus_address, const std::string& topic, int32_t partitions) {
  auto stub = ::sandbank::bus::Bus::NewStub(grpc::CreateChannel(bus_address, grpc::InsecureChannelCredentials()));
  ::sandbank::bus::CreateTopicRequest req;
  req.set_name(topic);
  req.set_partitions(partitions);
  ::sandbank::bus::Empty empty;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::Status s = stub->CreateTopic(&ctx, req, &empty);
  if (s.ok() || s.error_code() == grpc::StatusCode::ALREADY_EXISTS ||
      s.error_message().find("TopicAlreadyExists") != std::string::npos) {
    return OkStatus();
  }
  return Status(static_cast<StatusCode>(s.error_code()),
                "creating topic " + topic + " on the bus at " + bus_address + ": " + s.error_message());
}

}  // namespace sandbank::bank
