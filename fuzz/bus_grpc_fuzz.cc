// Fuzzes the bus's gRPC request handling (sandbank.bus.Bus, sim/bus): a sequence of unary
// requests, each parsed from fuzz bytes, against a fresh Broker on a ManualClock. Every
// rejection must carry a reason; nothing may crash, hang or leak. The streaming calls
// (ProduceStream, ProducePipeline, Consume) need a live stream and are not covered here.
// Thread-safety: libFuzzer calls it from one thread.
#include <cstdint>
#include <memory>

#include "fuzz_util.h"
#include "grpc_call.h"
#include "sandbank/bus.grpc.pb.h"
#include "sandbank/bus/broker.h"
#include "sandbank/bus/bus_grpc_service.h"
#include "sandbank/core/clock.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using Svc = sandbank::bus::Bus::Service;
  using sandbank::fuzz::callUnary;
  sandbank::ManualClock clock;
  sandbank::bus::Broker broker(clock);
  std::unique_ptr<grpc::Service> service = sandbank::bus::makeBusGrpcService(broker);
  auto* bus = dynamic_cast<Svc*>(service.get());
  if (bus == nullptr) std::abort();

  sandbank::fuzz::FrameReader frames(data, size);
  uint8_t selector = 0;
  std::string_view p;
  // Enough requests for create -> produce -> join -> commit -> browse chains, bounded so
  // one input cannot run for long.
  for (int n = 0; n < 64 && frames.next(&selector, &p); ++n) {
    switch (selector % 18) {
      case 0: callUnary(bus, &Svc::Produce, p, "Produce"); break;
      case 1: callUnary(bus, &Svc::InitProducerId, p, "InitProducerId"); break;
      case 2: callUnary(bus, &Svc::JoinGroup, p, "JoinGroup"); break;
      case 3: callUnary(bus, &Svc::Heartbeat, p, "Heartbeat"); break;
      case 4: callUnary(bus, &Svc::LeaveGroup, p, "LeaveGroup"); break;
      case 5: callUnary(bus, &Svc::Commit, p, "Commit"); break;
      case 6: callUnary(bus, &Svc::Nack, p, "Nack"); break;
      case 7: callUnary(bus, &Svc::Seek, p, "Seek"); break;
      case 8: callUnary(bus, &Svc::Pause, p, "Pause"); break;
      case 9: callUnary(bus, &Svc::CreateTopic, p, "CreateTopic"); break;
      case 10: callUnary(bus, &Svc::DeleteTopic, p, "DeleteTopic"); break;
      case 11: callUnary(bus, &Svc::DescribeTopics, p, "DescribeTopics"); break;
      case 12: callUnary(bus, &Svc::DescribeGroup, p, "DescribeGroup"); break;
      case 13: callUnary(bus, &Svc::ListGroups, p, "ListGroups"); break;
      case 14: callUnary(bus, &Svc::Lag, p, "Lag"); break;
      case 15: callUnary(bus, &Svc::Browse, p, "Browse"); break;
      case 16: callUnary(bus, &Svc::InjectFault, p, "InjectFault"); break;
      case 17: {  // time passes: session timeouts, retention, fault windows
        uint32_t ms = 0;
        for (size_t i = 0; i < p.size() && i < 4; ++i) ms = (ms << 8) | static_cast<uint8_t>(p[i]);
        clock.advance(std::chrono::milliseconds(ms));
        break;
      }
    }
  }
  return 0;
}
