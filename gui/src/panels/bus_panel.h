// BusPanel: the bus as Kafka tools show it - topics with their partitions and offsets,
// consumer groups with their state, members and lag (each described once a second), the
// selected group's lag per partition, and a lag-over-time chart with one line per group
// (the selected group's drawn thick), a record browser with key/value search, and a form
// that produces one record. Every call goes through
// ControlClient::call; errors are shown in the panel.
// Thread-safety: UI thread only.
#pragma once

#include <QElapsedTimer>
#include <QTimer>
#include <QWidget>

#include <map>
#include <string>
#include <vector>

#include "bus_models.h"
#include "gui_context.h"

class QChart;
class QChartView;
class QComboBox;
class QLabel;
class QLineEdit;
class QLineSeries;
class QPlainTextEdit;
class QSpinBox;
class QTableView;
class QTableWidget;
class QTreeWidget;
class QValueAxis;

namespace sandbank::gui {

class BusPanel : public QWidget {
  Q_OBJECT

 public:
  BusPanel(GuiContext& context, QWidget* parent = nullptr);

  // One refresh of topics, groups and lag (the 1 s timer calls it; tests may too).
  void refresh();
  // Reads records from the browse form's topic/partition/offset.
  void browse();
  // Produces the produce form's record; the result (partition, offset or the error)
  // lands in the form's result line.
  void produce();

  BrowseModel& browseModel() { return browse_model_; }
  const LagHistory& lagHistory() const { return lag_history_; }
  const LagSeriesSet& lagLines() const { return lag_lines_; }

 Q_SIGNALS:
  void refreshed();  // after a refresh's results were shown (or its error)
  void browsed();
  void produced(QString result);

 private:
  struct Snapshot;  // one refresh's answers (bus_panel.cc)

  void showSnapshot(const Snapshot& s);
  void showGroup(const QString& group);
  // Once per refresh (and on a selection change): one line per group in the history,
  // each replaced whole with its bounded points; the selected group's line thick.
  void updateChart();
  void styleLines();  // pens and legend fonts; again after every theme change
  void showRecordDetail();

  GuiContext& context_;
  QTimer timer_;
  QElapsedTimer since_start_;
  bool refreshing_ = false;
  LagHistory lag_history_;
  LagSeriesSet lag_lines_;                     // which groups have a line, and their colours
  std::map<std::string, QLineSeries*> lines_;  // by group; owned by chart_
  // A copy of the selected group's line, kept the last series added so it is drawn over
  // the others (lines at the same lag hide each other); not in the legend.
  QLineSeries* highlight_ = nullptr;
  int chart_theme_ = -1;                       // the QChart::ChartTheme last applied
  BrowseModel browse_model_;
  QString selected_group_;

  QLabel* status_ = nullptr;
  QTreeWidget* topics_ = nullptr;
  QTableWidget* groups_ = nullptr;
  QTableWidget* group_lag_ = nullptr;
  QLabel* group_title_ = nullptr;
  QChart* chart_ = nullptr;
  QChartView* chart_view_ = nullptr;
  QValueAxis* axis_x_ = nullptr;
  QValueAxis* axis_y_ = nullptr;

  QComboBox* browse_topic_ = nullptr;
  QSpinBox* browse_partition_ = nullptr;
  QLineEdit* browse_offset_ = nullptr;
  QSpinBox* browse_max_ = nullptr;
  QLineEdit* search_ = nullptr;
  QLabel* browse_status_ = nullptr;
  QTableView* records_ = nullptr;
  QPlainTextEdit* detail_ = nullptr;

  QComboBox* produce_topic_ = nullptr;
  QLineEdit* produce_partition_ = nullptr;
  QLineEdit* produce_key_ = nullptr;
  QPlainTextEdit* produce_value_ = nullptr;
  QLineEdit* produce_headers_ = nullptr;
  QLabel* produce_result_ = nullptr;
  std::vector<std::string> topic_names_;
};

}  // namespace sandbank::gui
