// A hermetic world for bank service tests: the store (3 nodes, RF 3) and the bus run
// in-process behind one gRPC server on 127.0.0.1:0, on a ManualClock, with a kit store
// client and bus producer pointed at them. Topics the bank uses are created up front.
// Thread-safety: set up and torn down on the test thread; the clients are thread-safe.
#pragma once

#include <gtest/gtest.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/service_type.h>

#include <memory>
#include <string>
#include <vector>

#include "sandbank/bus/broker.h"
#include "sandbank/bus/bus_grpc_service.h"
#include "sandbank/core/clock.h"
#include "sandbank/kit/bus_client.h"
#include "sandbank/kit/store_client.h"
#include "sandbank/store/cluster.h"
#include "sandbank/store/store_service.h"

namespace sandbank::bank::testing {

class BankTestEnv {
 public:
  static constexpr int kPartitions = 4;

  // Call from SetUp (uses ASSERT_*).
  void start() {
    cluster_ = std::make_unique<store::Cluster>(store::ClusterOptions{}, clock_);
    broker_ = std::make_unique<bus::Broker>(clock_);
    for (const char* topic : {"ledger.entrysets", "account.events"}) {
      bus::TopicConfig config;
      config.partitions = kPartitions;
      ASSERT_TRUE(broker_->createTopic(topic, config).ok());
    }
    store_service_ = store::makeStoreGrpcService(*cluster_);
    bus_service_ = bus::makeBusGrpcService(*broker_);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(store_service_.get());
    builder.RegisterService(bus_service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port, 0);
    address_ = "127.0.0.1:" + std::to_string(port);
    auto store = kit::StoreClient::connect(address_, "bank-test");
    ASSERT_TRUE(store.ok()) << store.status().toString();
    store_ = std::move(store).value();
    kit::BusProducerOptions options;
    options.address = address_;
    options.linger = std::chrono::milliseconds(1);
    auto producer = kit::BusProducer::create(options);
    ASSERT_TRUE(producer.ok()) << producer.status().toString();
    producer_ = std::move(producer).value();
  }

  void stop() {
    producer_.reset();
    store_.reset();
    if (server_) server_->Shutdown();
  }

  // Every record on `topic`, partition by partition (flushes the producer first).
  std::vector<bus::Delivery> records(const std::string& topic) {
    std::vector<bus::Delivery> out;
    EXPECT_TRUE(producer_->flush().ok());
    for (int p = 0; p < kPartitions; ++p) {
      auto r = broker_->fetch(bus::TopicPartition{topic, p}, 0, 100000);
      EXPECT_TRUE(r.ok()) << r.status().toString();
      if (r.ok()) out.insert(out.end(), r->begin(), r->end());
    }
    return out;
  }

  // Writes straight to the store, behind the services' backs, with a timestamp an hour
  // ahead so last-write-wins lets it override what they wrote (tests corrupt data so).
  Status tamper(const std::string& cql) {
    kit::StoreCall call;
    call.consistency = "ALL";
    call.timestamp_us = toMicros(clock_.now()) + 3'600'000'000LL;
    auto r = store_->execute(cql, {}, call);
    return r.ok() ? OkStatus() : r.status();
  }

  // A channel to a service registered on a server of the test's own.
  static std::unique_ptr<grpc::Server> serve(grpc::Service* service, std::string* address) {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(service);
    auto server = builder.BuildAndStart();
    *address = "127.0.0.1:" + std::to_string(port);
    return server;
  }

  ManualClock clock_;
  std::unique_ptr<store::Cluster> cluster_;
  std::unique_ptr<bus::Broker> broker_;
  std::unique_ptr<grpc::Service> store_service_;
  std::unique_ptr<grpc::Service> bus_service_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
  std::unique_ptr<kit::StoreClient> store_;
  std::unique_ptr<kit::BusProducer> producer_;
};

}  // namespace sandbank::bank::testing
