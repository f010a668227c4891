// App: the in-process simulator, --attach, or a recording, wired into a GuiContext.
#include "app.h"

#include <unistd.h>

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>

#include <chrono>
#include <filesystem>

#include "control_client.h"
#include "flow_feed.h"
#include "sandbank/cli/bank_check.h"
#include "sandbank/control/run_state.h"
#include "sandbank/control/simulator.h"
#include "sandbank/load/load_generator.h"

namespace sandbank::gui {

std::string defaultManifest() {
#ifdef SANDBANK_SOURCE_DIR
  std::string p = std::string(SANDBANK_SOURCE_DIR) + "/bank.yaml";
  if (std::filesystem::exists(p)) return p;
#endif
  return "bank.yaml";
}

std::string defaultScenariosDir() {
#ifdef SANDBANK_SOURCE_DIR
  std::string p = std::string(SANDBANK_SOURCE_DIR) + "/scenarios";
  if (std::filesystem::exists(p)) return p;
#endif
  return "scenarios";
}

App::App(AppOptions options, QObject* parent) : QObject(parent), options_(std::move(options)) {
  selection_ = std::make_unique<Selection>();
  context_.selection = selection_.get();
  context_.scenarios_dir = options_.scenarios_dir.empty() ? defaultScenariosDir() : options_.scenarios_dir;
}

App::~App() {
  if (demo_) demo_->stop();
  demo_.reset();
  if (feed_) feed_->stop();
  feed_.reset();
  client_.reset();
  if (simulator_) simulator_->stop();
}

Status App::start() {
  if (!options_.open.empty()) {
    if (!std::filesystem::exists(options_.open)) return NotFound(options_.open + ": no such recording");
    context_.recording = options_.open;
    feed_ = std::make_unique<FlowFeed>(options_.open);
    context_.feed = feed_.get();
    feed_->start();
    return OkStatus();
  }
  if (!options_.attach.empty() || options_.attach_default) {
    return attach(options_.attach.empty() ? control::defaultRunStatePath() : options_.attach);
  }
  return startInProcess();
}

Status App::attach(const std::string& state_file) {
  auto state = control::readRunState(state_file);
  if (!state.ok()) return state.status();
  client_ = std::make_unique<ControlClient>(state->address, state->token);
  context_.client = client_.get();
  context_.manifest = state->manifest;
  context_.run_state = state_file;
  feed_ = std::make_unique<FlowFeed>(client_.get());
  context_.feed = feed_.get();
  feed_->start();
  return OkStatus();
}

Status App::startInProcess() {
  control::SimulatorOptions so;
  so.manifest_path = options_.manifest.empty() ? defaultManifest() : options_.manifest;
  so.state_file = options_.state_file;
  so.seed = options_.seed;
  so.bin_dir = options_.bin_dir.empty() ? QCoreApplication::applicationDirPath().toStdString() : options_.bin_dir;
  if (options_.record.empty()) {
    std::filesystem::path dir = std::filesystem::path(control::defaultStateDir()) / "gui";
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    so.record_path = (dir / ("run-" + std::to_string(::getpid()) + ".db")).string();
  } else {
    so.record_path = options_.record;
  }
  auto created = control::Simulator::create(so);
  if (!created.ok()) return created.status();
  simulator_ = std::move(*created);
  simulator_->setChecker(cli::makeBankChecker(*simulator_));
  context_.simulator = simulator_.get();
  context_.manifest = so.manifest_path;
  context_.recording = so.record_path;
  context_.bin_dir = so.bin_dir;
  context_.run_state = so.state_file.empty() ? control::defaultRunStatePath() : so.state_file;
  auto state = control::readRunState(context_.run_state);
  if (!state.ok()) return state.status();
  client_ = std::make_unique<ControlClient>(state->address, state->token);
  context_.client = client_.get();
  feed_ = std::make_unique<FlowFeed>(client_.get());
  context_.feed = feed_.get();
  feed_->start();
  if (Status s = simulator_->up(); !s.ok()) return s;
  Status ready = simulator_->supervisor().waitUntilReady(std::chrono::seconds(30));
  if (!ready.ok()) return ready;
  if (options_.demo) return startDemo();
  return OkStatus();
}

std::string App::edgeAddress() const {
  if (!simulator_) return {};
  for (const auto& s : simulator_->supervisor().snapshot()) {
    if (s.http_port > 0) return "127.0.0.1:" + std::to_string(s.http_port);
  }
  return {};
}

Status App::startDemo() {
  load::LoadOptions lo;
  lo.edge = edgeAddress();
  if (lo.edge.empty()) return FailedPrecondition("--demo: no service announced an HTTP port (is there an edge?)");
  lo.customers = 12;
  lo.rate = options_.demo_rate;
  lo.duration = std::chrono::milliseconds(0);  // until the app closes
  lo.seed = options_.seed;
  lo.concurrency = 2;
  demo_ = std::make_unique<load::LoadGenerator>(lo);
  return demo_->start();
}

}  // namespace sandbank::gui
