// StorePanel: the store as a Cassandra operator sees it - the ring of nodes (each can be
// taken down, slowed or isolated), the keyspaces and tables, a CQL console with a
// consistency level and history, and one partition as each replica holds it with the
// divergences highlighted (the comparison itself is store_replica_diff.h).
// Thread-safety: UI thread only; every store call goes through ControlClient::call.
#pragma once

#include <QStringList>
#include <QTimer>
#include <QWidget>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "gui_context.h"
#include "store_replica_diff.h"

class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QSpinBox;
class QTableWidget;
class QTreeWidget;

namespace sandbank::gui {

class StoreRing;  // store_panel.cc: the ring drawing

// One node as GetNodeStats reports it.
struct StoreNode {
  int id = 0;
  QString name;
  QString datacenter;
  bool up = true;
  bool isolated = false;
  int64_t added_latency_ms = 0;
  int64_t writes = 0, reads = 0, hints_stored = 0, hints_replayed = 0, partitions = 0;
};

class StorePanel : public QWidget {
  Q_OBJECT

 public:
  StorePanel(GuiContext& context, QWidget* parent = nullptr);
  ~StorePanel() override;

  // The node toggles behind the ring's buttons (NodeDown/NodeUp, SetSlow, SetIsolated);
  // each refreshes the nodes when the store has answered.
  void setNodeDown(int node, bool down);
  void setNodeSlow(int node, int64_t added_latency_ms);
  void setNodeIsolated(int node, bool isolated);
  void refreshNodes();
  void refreshSchema();
  // Runs the console's statement at the chosen consistency.
  void execute();
  // Shows keyspace.table / key (comma-separated components) replica by replica.
  void showPartition();

  const std::vector<StoreNode>& nodes() const { return nodes_; }
  const ReplicaDiff& replicaDiff() const { return diff_; }
  QString lastError() const { return last_error_; }

 Q_SIGNALS:
  void nodesChanged();
  void nodeActionDone(QString result);  // "n2 is down" or the store's error
  void executed();
  void partitionShown();

 protected:
  bool eventFilter(QObject* watched, QEvent* event) override;

 private:
  void selectNode(int node);
  void showNodeControls();
  void showTable(const QString& keyspace, const QString& table);
  void noteTablesFromFlow(const std::vector<std::pair<std::string, std::string>>& tables);
  void rebuildSchemaTree();
  void showDiff();
  void setError(const QString& where, const QString& text);

  GuiContext& context_;
  QTimer timer_;
  std::vector<StoreNode> nodes_;
  int selected_node_ = 0;
  ReplicaDiff diff_;
  QString last_error_;
  bool nodes_in_flight_ = false;
  bool system_schema_ = false;  // the store answered system_schema.tables
  std::map<QString, std::map<QString, QStringList>> schema_;  // keyspace -> table -> columns
  QStringList history_;
  int history_pos_ = 0;

  QLabel* status_ = nullptr;
  StoreRing* ring_ = nullptr;
  QLabel* node_title_ = nullptr;
  QLabel* node_stats_ = nullptr;
  QPushButton* down_ = nullptr;
  QSpinBox* slow_ = nullptr;
  QPushButton* slow_apply_ = nullptr;
  QCheckBox* isolate_ = nullptr;

  QTreeWidget* schema_tree_ = nullptr;
  QLabel* schema_note_ = nullptr;

  QLineEdit* cql_ = nullptr;
  QComboBox* consistency_ = nullptr;
  QComboBox* keyspace_ = nullptr;
  QLabel* cql_status_ = nullptr;
  QTableWidget* results_ = nullptr;

  QLineEdit* part_keyspace_ = nullptr;
  QLineEdit* part_table_ = nullptr;
  QLineEdit* part_key_ = nullptr;
  QLabel* part_status_ = nullptr;
  QTableWidget* replicas_ = nullptr;
};

}  // namespace sandbank::gui
