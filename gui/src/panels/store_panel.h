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

namespace sandbank::store {
class ExecuteResponse;
}

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
  // Fills the replicas tab's fields with these and shows that partition.
  void showPartitionOf(const QString& keyspace, const QString& table, const QString& key);
  // The partition key of keyspace.table as system_schema gave it: "name type" per
  // component, in key order; empty when unknown.
  QStringList partitionKeyOf(const QString& keyspace, const QString& table) const;
  bool hasSystemSchema() const { return system_schema_; }

  const std::vector<StoreNode>& nodes() const { return nodes_; }
  const ReplicaDiff& replicaDiff() const { return diff_; }
  QString lastError() const { return last_error_; }

 Q_SIGNALS:
  void nodesChanged();
  void nodeActionDone(QString result);  // "n2 is down" or the store's error
  void executed();
  void partitionShown();
  void schemaRead();  // a read of system_schema answered (or failed)

 protected:
  bool eventFilter(QObject* watched, QEvent* event) override;

 private:
  void selectNode(int node);
  void showNodeControls();
  void showTable(const QString& keyspace, const QString& table);
  void noteTablesFromFlow(const std::vector<std::pair<std::string, std::string>>& tables);
  // Fills schema_ from the rows of system_schema.columns.
  void applySchemaRows(const ::sandbank::store::ExecuteResponse& rows);
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
  bool system_schema_ = false;  // the store answered system_schema.columns
  bool schema_in_flight_ = false;
  bool schema_stale_ = false;   // a table showed up in the flow while a read was in flight
  // What the Schema tab knows of one table: its columns as shown, and its partition key's
  // column names and CQL types in key order (for typing what is typed in the replicas tab).
  struct TableInfo {
    QStringList columns;
    QStringList key_columns;
    std::vector<std::string> key_types;
  };
  std::map<QString, std::map<QString, TableInfo>> schema_;  // keyspace -> table
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
