// Simulator wiring.
#include "sandbank/control/simulator.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/codegen/service_type.h>

#include "sandbank/bus/broker.h"
#include "sandbank/bus/bus_grpc_service.h"
#include "sandbank/control/control_server.h"
#include "sandbank/control/run_state.h"
#include "sandbank/faults/fault_engine.h"
#include "sandbank/mesh/mesh.h"
#include "sandbank/mesh/payload_decoder.h"
#include "sandbank/store/cluster.h"
#include "sandbank/store/store_service.h"
#include "service_name_sink.h"
#include "supervisor_directory.h"

namespace sandbank::control {
namespace {

// A lifecycle event as the recording keeps it, or nullopt for one that is no process
// change: "unhealthy" (the process still runs) and "gave-up" (the "exited" before it
// already says how the process ended). A deliberate stop is a clean exit, however the
// process answered the signal; an unexpected end keeps its exit code, or reads as killed.
std::optional<flow::ProcessRecord> processRecord(const supervisor::LifecycleEvent& e) {
  flow::ProcessRecord r;
  r.time_sim_us = toMicros(e.time);
  r.service = e.service;
  r.instance = e.instance;
  r.pid = e.pid;
  if (e.what == "started") {
    r.state = flow::ProcessState::kStarting;
  } else if (e.what == "ready" || e.what == "healthy") {
    r.state = flow::ProcessState::kReady;
  } else if (e.what == "restarting") {
    r.state = flow::ProcessState::kRestarting;
  } else if (e.what == "stopped") {
    r.state = flow::ProcessState::kExited;
  } else if (e.what == "exited") {
    if (e.exit && e.exit->signal != 0) {
      r.state = flow::ProcessState::kKilled;
    } else {
      r.state = flow::ProcessState::kExited;
      if (e.exit) r.exit_code = e.exit->exit_code;
    }
  } else {
    return std::nullopt;
  }
  return r;
}

}  // namespace

Result<std::unique_ptr<Simulator>> Simulator::create(SimulatorOptions o) {
  std::unique_ptr<Simulator> sim(new Simulator());
  sim->options_ = o;
  SANDBANK_ASSIGN_OR_RETURN(sim->manifest_, supervisor::loadManifest(o.manifest_path, {{"SANDBANK_BIN", o.bin_dir}}));
  sim->state_file_ = o.state_file.empty() ? defaultRunStatePath() : o.state_file;
  if (auto existing = readRunState(sim->state_file_); existing.ok())
    return FailedPrecondition("a simulator is already running (pid " + std::to_string(existing->pid) + ", " +
                              existing->address + "); stop it with `sandbank down` or pass --state FILE");
  sim->run_dir_ = std::filesystem::path(sim->state_file_).parent_path().string() + "/run-" + std::to_string(::getpid());
  std::error_code ec;
  std::filesystem::create_directories(sim->run_dir_, ec);
  if (ec) return Internal("cannot create " + sim->run_dir_ + ": " + ec.message());
  SANDBANK_ASSIGN_OR_RETURN(sim->clock_offset_, SharedClockOffset::create(sim->run_dir_ + "/clock"));
  sim->clock_ = std::make_unique<SharedOffsetClock>(sim->clock_offset_);
  sim->hub_ = std::make_unique<flow::FlowHub>(*sim->clock_);

  if (!o.record_path.empty()) {
    flow::RunInfo run;
    run.started_real_us = toMicros(SystemClock::instance().now());
    run.started_sim_us = toMicros(sim->clock_->now());
    std::ifstream in(o.manifest_path);
    std::stringstream text;
    text << in.rdbuf();
    run.manifest = text.str();
    run.seed = static_cast<int64_t>(o.seed);
    run.version = "0.1.0";
    auto rec = flow::Recorder::create(o.record_path, run);
    if (!rec.ok()) return rec.status().withContext("recording " + o.record_path);
    sim->recorder_ = *rec;
    sim->hub_->attachRecorder(sim->recorder_);
  }

  // The engines, all reporting into the one hub; bus and log events through a sink that
  // names services as the mesh does.
  {
    std::set<std::string> names;
    for (const auto& s : sim->manifest_.services) names.insert(s.name);
    sim->name_sink_ = std::make_unique<ServiceNameSink>(*sim->hub_, std::move(names));
  }
  sim->faults_ = std::make_unique<faults::FaultEngine>(*sim->clock_, *sim->hub_, o.seed);
  sim->bus_ = std::make_unique<bus::Broker>(*sim->clock_, sim->name_sink_.get());
  store::ClusterOptions copt;
  copt.node_datacenters.assign(static_cast<size_t>(std::max(1, o.store_nodes)), "dc1");
  sim->store_ = std::make_unique<store::Cluster>(copt, *sim->clock_, *sim->hub_);
  // One fault engine for the whole run: rules on services, topics and tables alike.
  sim->bus_->setFaultEngine(sim->faults_.get());
  sim->store_->setFaultEngine(sim->faults_.get());
  {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &sim->data_port_);
    sim->data_services_.push_back(bus::makeBusGrpcService(*sim->bus_));
    sim->data_services_.push_back(store::makeStoreGrpcService(*sim->store_));
    for (auto& svc : sim->data_services_) builder.RegisterService(svc.get());
    sim->data_server_ = builder.BuildAndStart();
    if (!sim->data_server_ || sim->data_port_ == 0) return Unavailable("cannot start the bus/store server on 127.0.0.1:0");
  }
  auto decoder = mesh::PayloadDecoder::fromDescriptorSetFile(o.bin_dir + "/sandbank.desc");
  sim->decoder_ = decoder.ok() ? std::move(*decoder) : mesh::PayloadDecoder::empty();
  sim->directory_ = std::make_unique<SupervisorDirectory>();
  sim->decoder_->setDirectory(sim->directory_.get());
  mesh::MeshOptions mo;
  mo.directory = sim->directory_.get();
  mo.faults = sim->faults_.get();
  mo.sink = sim->hub_.get();
  mo.clock = sim->clock_.get();
  mo.decoder = sim->decoder_.get();
  SANDBANK_ASSIGN_OR_RETURN(sim->mesh_, mesh::Mesh::start(mo));

  sim->launcher_ = supervisor::makeProcessLauncher();
  sim->prober_ = supervisor::makeHealthProber();
  supervisor::SupervisorOptions so;
  so.search_dirs = {o.bin_dir};
  so.extra_env["SANDBANK_CLOCK_FILE"] = sim->clock_offset_->path();
  so.extra_env["SANDBANK_MESH"] = sim->mesh_->address();
  so.extra_env["SANDBANK_BUS"] = sim->dataAddress();
  so.extra_env["SANDBANK_STORE"] = sim->dataAddress();
  so.flow = sim->name_sink_.get();
  so.clock = sim->clock_.get();
  sim->supervisor_ = std::make_unique<supervisor::Supervisor>(*sim->launcher_, *sim->prober_, so);
  SupervisorDirectory* directory = sim->directory_.get();
  sim->supervisor_->subscribeLifecycle([directory](const supervisor::LifecycleEvent& e) { directory->onLifecycle(e); });
  std::vector<std::string> names;
  for (const auto& s : sim->manifest_.services) names.push_back(s.name);
  directory->declare(names);
  if (sim->recorder_) {
    auto rec = sim->recorder_;
    const Clock* clock = sim->clock_.get();
    sim->supervisor_->subscribeLifecycle([rec](const supervisor::LifecycleEvent& e) {
      if (auto r = processRecord(e)) rec->recordProcess(std::move(*r));
    });
    sim->supervisor_->subscribeLogs([rec, clock](const supervisor::LogLine& l) {
      flow::LogEntry e;
      e.time_sim_us = toMicros(clock->now());
      e.service = l.service;
      e.instance = l.instance;
      e.level = l.level;
      e.trace_id = l.trace;
      e.message = l.message;
      rec->recordLog(std::move(e));
    });
  }

  ControlServerOptions co;
  co.token = newToken();
  Simulator* raw = sim.get();
  co.on_shutdown = [raw] {
    std::function<void()> handler;
    {
      std::lock_guard lock(raw->shutdown_mu_);
      handler = raw->on_shutdown_;
    }
    if (handler) handler();
  };
  co.flow = sim->hub_.get();
  co.faults = sim->faults_.get();
  co.clock_offset = sim->clock_offset_.get();
  co.clock = sim->clock_.get();
  co.decoder = sim->decoder_.get();
  std::string token = co.token;
  sim->control_ = std::make_unique<ControlServer>(*sim->supervisor_, co);
  // The bus and the store are inspectable and faultable through the front door too.
  sim->control_services_.push_back(bus::makeBusGrpcService(*sim->bus_));
  sim->control_services_.push_back(store::makeStoreGrpcService(*sim->store_));
  for (auto& svc : sim->control_services_) sim->control_->addService(svc.get());
  SANDBANK_RETURN_IF_ERROR(sim->control_->start());
  Simulator* self = sim.get();
  sim->housekeeping_ = std::thread([self] {
    std::unique_lock lock(self->housekeeping_mu_);
    int ticks = 0;
    while (!self->housekeeping_cv_.wait_for(lock, std::chrono::milliseconds(100), [self] { return self->housekeeping_stop_; })) {
      lock.unlock();
      self->bus_->tick();
      if (++ticks % 10 == 0) self->store_->deliverHints();
      lock.lock();
    }
  });
  RunState rs{sim->control_->address(), token, ::getpid(),
              std::filesystem::absolute(o.manifest_path).string(), formatTimestamp(SystemClock::instance().now()),
              sim->meshAddress()};
  SANDBANK_RETURN_IF_ERROR(writeRunState(sim->state_file_, rs));
  sim->wrote_state_ = true;
  return sim;
}

Simulator::Simulator() = default;
Simulator::~Simulator() { stop(); }

Status Simulator::up() { return supervisor_->up(manifest_); }

std::string Simulator::controlAddress() const { return control_ ? control_->address() : ""; }
std::string Simulator::meshAddress() const { return mesh_ ? mesh_->address() : ""; }
std::string Simulator::dataAddress() const { return "127.0.0.1:" + std::to_string(data_port_); }

void Simulator::setShutdownHandler(std::function<void()> handler) {
  std::lock_guard lock(shutdown_mu_);
  on_shutdown_ = std::move(handler);
}

void Simulator::setChecker(InvariantChecker checker) {
  if (control_) control_->setChecker(std::move(checker));
}

void Simulator::stop() {
  if (stopped_) return;
  stopped_ = true;
  if (supervisor_) supervisor_->stopAll();
  {
    std::lock_guard lock(housekeeping_mu_);
    housekeeping_stop_ = true;
  }
  housekeeping_cv_.notify_all();
  if (housekeeping_.joinable()) housekeeping_.join();
  if (control_) control_->stop();
  if (mesh_) mesh_->shutdown();
  if (data_server_) data_server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  if (recorder_) (void)recorder_->close();
  if (wrote_state_) (void)removeRunState(state_file_);  // never another simulator's
  std::error_code ec;
  if (!run_dir_.empty()) std::filesystem::remove_all(run_dir_, ec);
}

}  // namespace sandbank::control
