// App: what sandbank-gui runs - the bank in this process (default), a bank started
// elsewhere (--attach, through the run-state file), or a recording (--open) - and the
// GuiContext the panels get. The GUI tests and bench/gui use it too, so they see the
// same wiring as a user.
// Thread-safety: UI thread only.
#pragma once

#include <QObject>
#include <QString>

#include <memory>
#include <string>

#include "gui_context.h"
#include "sandbank/core/result.h"

namespace sandbank::load {
class LoadGenerator;
}  // namespace sandbank::load

namespace sandbank::gui {

struct AppOptions {
  std::string manifest;     // in-process: the bank to run (default: bank.yaml)
  std::string attach;       // run-state file of a running `sandbank up` ("" = none)
  bool attach_default = false;  // --attach without a path: the default run-state file
  std::string open;         // a recording to open instead of a live bank
  std::string record;       // in-process: where to record (default: in the run folder)
  std::string state_file;   // in-process: run-state file (default: the usual one)
  std::string bin_dir;      // where the services are (default: next to the app)
  std::string scenarios_dir;
  uint64_t seed = 1;
  bool demo = false;        // in-process: a gentle endless load of simulated customers
  double demo_rate = 8;
};

class App : public QObject {
  Q_OBJECT

 public:
  explicit App(AppOptions options, QObject* parent = nullptr);
  ~App() override;  // stops the demo load and the in-process bank

  // Starts what the options ask for. In-process, returns once every service is ready
  // (or failed: the error says which). Errors carry a reason for a person.
  Status start();
  GuiContext& context() { return context_; }
  // The edge's HTTP address once the bank is up ("127.0.0.1:port"), or "".
  std::string edgeAddress() const;

 private:
  Status startInProcess();
  Status attach(const std::string& state_file);
  Status startDemo();

  AppOptions options_;
  GuiContext context_;
  std::unique_ptr<control::Simulator> simulator_;
  std::unique_ptr<ControlClient> client_;
  std::unique_ptr<FlowFeed> feed_;
  std::unique_ptr<Selection> selection_;
  std::unique_ptr<load::LoadGenerator> demo_;
};

// bank.yaml and scenarios/ of the source tree this app was built from, when present.
std::string defaultManifest();
std::string defaultScenariosDir();

}  // namespace sandbank::gui
