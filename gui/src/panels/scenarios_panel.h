// ScenariosPanel: the scenario files of the run's scenarios folder and their named
// scenarios; tick some and run them against the in-process bank. Each scenario's steps
// appear green or red as they finish; a failed one shows its message, and clicking it
// opens its trace (Selection::selectTrace) in the Trace panel.
// Thread-safety: UI thread only; listing and running happen on other threads
// (scenarios_runner.h).
#pragma once

#include <QWidget>

#include <memory>
#include <string>
#include <vector>

#include "gui_context.h"
#include "scenarios_runner.h"

class QCheckBox;
class QLabel;
class QPlainTextEdit;
class QPushButton;
class QTreeWidget;
class QTreeWidgetItem;

namespace sandbank::gui {

class ScenariosPanel : public QWidget {
  Q_OBJECT

 public:
  enum class State { kQueued, kRunning, kPassed, kFailed, kError };

  struct StepResult {
    QString name;
    double ms = 0;
    bool ok = true;
  };
  // One scenario of the current (or last) run.
  struct RunRow {
    ScenarioRef ref;
    State state = State::kQueued;
    std::vector<StepResult> steps;
    QString message;   // the failure, as the engine reports it
    QString trace_id;  // the trace the failure concerns
    QString location;
    QStringList log;
    double seconds = 0;
  };

  ScenariosPanel(GuiContext& context, QWidget* parent = nullptr);
  ~ScenariosPanel() override;

  // Re-reads the scenarios folder (on a worker thread); `listed` follows.
  void reload();
  // Ticks one scenario in the list; false when it is not listed.
  bool check(const std::string& file, const std::string& name, bool on = true);
  // Runs the ticked scenarios; the error (nothing ticked, no in-process bank, a run in
  // progress) is shown in the panel and returned.
  Status runChecked();
  // The "Reset the bank first" box.
  void setResetFirst(bool on);

  const std::vector<ScenarioFile>& files() const { return files_; }
  const std::vector<RunRow>& runRows() const { return rows_; }
  ScenarioRunner* runner() { return runner_.get(); }

 Q_SIGNALS:
  void listed();
  void runDone();

 private:
  void showFiles();
  void showRow(int index);
  void showDetail();
  QTreeWidgetItem* rowItem(int index) const;

  GuiContext& context_;
  std::unique_ptr<ScenarioRunner> runner_;
  std::vector<ScenarioFile> files_;
  std::vector<RunRow> rows_;

  QLabel* status_ = nullptr;
  QTreeWidget* list_ = nullptr;
  QPushButton* run_ = nullptr;
  QPushButton* stop_ = nullptr;
  QCheckBox* reset_ = nullptr;
  QTreeWidget* results_ = nullptr;
  QPlainTextEdit* detail_ = nullptr;
};

}  // namespace sandbank::gui
