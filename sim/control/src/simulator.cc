// Simulator wiring.
#include "sandbank/control/simulator.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "sandbank/control/control_server.h"
#include "sandbank/control/run_state.h"

namespace sandbank::control {
namespace {

flow::ProcessState processState(const std::string& what) {
  if (what == "started") return flow::ProcessState::kStarting;
  if (what == "ready" || what == "healthy") return flow::ProcessState::kReady;
  if (what == "restarting") return flow::ProcessState::kRestarting;
  return flow::ProcessState::kExited;
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

  sim->launcher_ = supervisor::makeProcessLauncher();
  sim->prober_ = supervisor::makeHealthProber();
  supervisor::SupervisorOptions so;
  so.search_dirs = {o.bin_dir};
  so.extra_env["SANDBANK_CLOCK_FILE"] = sim->clock_offset_->path();
  so.flow = sim->hub_.get();
  so.clock = sim->clock_.get();
  sim->supervisor_ = std::make_unique<supervisor::Supervisor>(*sim->launcher_, *sim->prober_, so);
  if (sim->recorder_) {
    auto rec = sim->recorder_;
    const Clock* clock = sim->clock_.get();
    sim->supervisor_->subscribeLifecycle([rec](const supervisor::LifecycleEvent& e) {
      flow::ProcessRecord r;
      r.time_sim_us = toMicros(e.time);
      r.service = e.service;
      r.instance = e.instance;
      r.pid = e.pid;
      r.state = processState(e.what);
      rec->recordProcess(std::move(r));
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
  std::string token = co.token;
  sim->control_ = std::make_unique<ControlServer>(*sim->supervisor_, co);
  SANDBANK_RETURN_IF_ERROR(sim->control_->start());
  RunState rs{sim->control_->address(), token, ::getpid(),
              std::filesystem::absolute(o.manifest_path).string(), formatTimestamp(SystemClock::instance().now())};
  SANDBANK_RETURN_IF_ERROR(writeRunState(sim->state_file_, rs));
  return sim;
}

Simulator::~Simulator() { stop(); }

Status Simulator::up() { return supervisor_->up(manifest_); }

std::string Simulator::controlAddress() const { return control_ ? control_->address() : ""; }

void Simulator::setShutdownHandler(std::function<void()> handler) {
  std::lock_guard lock(shutdown_mu_);
  on_shutdown_ = std::move(handler);
}

void Simulator::stop() {
  if (stopped_) return;
  stopped_ = true;
  if (supervisor_) supervisor_->stopAll();
  if (control_) control_->stop();
  if (recorder_) (void)recorder_->close();
  (void)removeRunState(state_file_);
  std::error_code ec;
  if (!run_dir_.empty()) std::filesystem::remove_all(run_dir_, ec);
}

}  // namespace sandbank::control
