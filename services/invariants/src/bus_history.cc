// Reading a topic's history through Bus.DescribeTopics and Bus.Browse; see bus_history.h.
#include "sandbank/invariants/bus_history.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <thread>

#include "sandbank/bus.grpc.pb.h"

namespace sandbank::invariants {
namespace {

std::string traceOf(const std::string& traceparent) {
  // 00-<32 hex trace id>-<16 hex span id>-<flags>
  if (traceparent.size() >= 35 && traceparent[2] == '-') return traceparent.substr(3, 32);
  return "";
}

Status fromGrpc(const grpc::Status& s, const std::string& what) {
  return Status(static_cast<StatusCode>(s.error_code()), what + ": " + s.error_message());
}

}  // namespace

Result<std::vector<BusRecord>> readTopic(const std::string& bus_address, const std::string& topic) {
  auto stub = sandbank::bus::Bus::NewStub(grpc::CreateChannel(bus_address, grpc::InsecureChannelCredentials()));
  auto deadline = [] { return std::chrono::system_clock::now() + std::chrono::seconds(10); };
  sandbank::bus::DescribeTopicsRequest dreq;
  dreq.add_names(topic);
  sandbank::bus::DescribeTopicsResponse dresp;
  grpc::ClientContext dctx;
  dctx.set_deadline(deadline());
  grpc::Status ds = stub->DescribeTopics(&dctx, dreq, &dresp);
  if (ds.error_code() == grpc::StatusCode::NOT_FOUND) return std::vector<BusRecord>{};
  if (!ds.ok()) return fromGrpc(ds, "describing topic " + topic);
  std::vector<BusRecord> out;
  for (const auto& t : dresp.topics()) {
    if (t.name() != topic) continue;
    for (int32_t p = 0; p < t.partitions(); ++p) {
      int64_t offset = -1;  // from the log start
      for (;;) {
        sandbank::bus::BrowseRequest breq;
        breq.set_topic(topic);
        breq.set_partition(p);
        breq.set_offset(offset);
        breq.set_max_records(1000);
        sandbank::bus::BrowseResponse bresp;
        grpc::ClientContext bctx;
        bctx.set_deadline(deadline());
        grpc::Status bs = stub->Browse(&bctx, breq, &bresp);
        if (!bs.ok()) return fromGrpc(bs, "browsing " + topic + "/" + std::to_string(p));
        for (const auto& r : bresp.records()) {
          BusRecord rec;
          rec.topic = topic;
          rec.partition = p;
          rec.offset = r.offset();
          if (r.has_key()) rec.key = r.key();
          rec.value = r.value();
          rec.append_us = r.append_us();
          for (const auto& h : r.headers())
            if (h.key() == "traceparent") rec.trace_id = traceOf(h.value());
          out.push_back(std::move(rec));
        }
        if (bresp.records().empty()) break;
        offset = bresp.records(bresp.records_size() - 1).offset() + 1;
        if (offset >= bresp.log_end()) break;
      }
    }
  }
  return out;
}

Result<int64_t> waitForConsumers(const std::string& bus_address, std::chrono::milliseconds timeout) {
  auto stub = sandbank::bus::Bus::NewStub(grpc::CreateChannel(bus_address, grpc::InsecureChannelCredentials()));
  const auto until = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    grpc::ClientContext lctx;
    lctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    sandbank::bus::ListGroupsResponse groups;
    grpc::Status ls = stub->ListGroups(&lctx, sandbank::bus::Empty(), &groups);
    if (!ls.ok()) return fromGrpc(ls, "listing consumer groups");
    int64_t total = 0;
    for (const auto& g : groups.groups()) {
      sandbank::bus::DescribeGroupRequest req;
      req.set_group(g);
      sandbank::bus::LagResponse lag;
      grpc::ClientContext gctx;
      gctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
      grpc::Status gs = stub->Lag(&gctx, req, &lag);
      if (!gs.ok()) return fromGrpc(gs, "reading the lag of group " + g);
      for (const auto& p : lag.partitions())
        if (p.topic().find(".dlq.") == std::string::npos) total += p.lag();
    }
    if (total == 0 || std::chrono::steady_clock::now() >= until) return total;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace sandbank::invariants
