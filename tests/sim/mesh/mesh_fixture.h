// A mesh in front of one or two Echo backends, with a fault engine, a waiting flow sink
// and a decoder over the build's descriptor set. Shared by the mesh test files.
#pragma once

#include <gtest/gtest.h>

#include "echo_backend.h"
#include "sandbank/core/clock.h"
#include "sandbank/faults/fault_engine.h"
#include "sandbank/mesh/mesh.h"
#include "sandbank/mesh/payload_decoder.h"
#include "sandbank/mesh/service_directory.h"

namespace sandbank::mesh::testing {

inline std::string descriptorSetPath() { return std::string(SANDBANK_BIN_DIR) + "/sandbank.desc"; }

class MeshFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    auto decoder = PayloadDecoder::fromDescriptorSetFile(descriptorSetPath());
    ASSERT_TRUE(decoder.ok()) << decoder.status().toString();
    decoder_ = std::move(*decoder);
    directory_.addEndpoint("echo", backend1_.address());
    directory_.addEndpoint("ledger", "127.0.0.1:1");  // registered but never called
    startMesh();
  }

  // Without the decoder the mesh knows no method shapes, so every call takes the generic
  // streaming path instead of the unary fast path.
  void startMesh(bool use_decoder = true) {
    mesh_.reset();
    MeshOptions options;
    options.directory = &directory_;
    options.faults = &faults_;
    options.sink = &sink_;
    options.clock = &clock_;
    options.decoder = use_decoder ? decoder_.get() : nullptr;
    auto mesh = Mesh::start(options);
    ASSERT_TRUE(mesh.ok()) << mesh.status().toString();
    mesh_ = std::move(*mesh);
  }

  std::unique_ptr<sandbank::testing::Echo::Stub> stub(const std::string& service = "echo") {
    return sandbank::testing::Echo::NewStub(meshChannel(*mesh_, service));
  }

  static void withDeadline(grpc::ClientContext& ctx, std::chrono::milliseconds d) {
    ctx.set_deadline(std::chrono::system_clock::now() + d);
  }

  ManualClock clock_;
  WaitingFlowSink sink_;
  faults::FaultEngine faults_{clock_, sink_, 7};
  InMemoryServiceDirectory directory_;
  EchoBackend backend1_{"echo-1"};
  std::unique_ptr<PayloadDecoder> decoder_;
  std::unique_ptr<Mesh> mesh_;
};

}  // namespace sandbank::mesh::testing
