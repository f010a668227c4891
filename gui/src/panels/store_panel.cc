// StorePanel: the ring, the schema, the CQL console and the replica view.
#include "store_panel.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDateTime>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QKeyEvent>
#include <QLabel>
#include <QLineEdit>
#include <QMouseEvent>
#include <QPainter>
#include <QPushButton>
#include <QSpinBox>
#include <QSplitter>
#include <QTabWidget>
#include <QTableWidget>
#include <QTreeWidget>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <set>

#include "control_client.h"
#include "control_stubs.h"
#include "flow_feed.h"
#include "panel_registry.h"

namespace sandbank::gui {

namespace pb = sandbank::store;

namespace {

constexpr int kMaxResultRows = 5000;

const QColor kUp(76, 175, 80), kDown(217, 83, 79), kIsolated(240, 150, 40), kSlow(230, 200, 60);

QString valueText(const pb::TypedValue& v) {
  switch (v.value_case()) {
    case pb::TypedValue::kText: return QString::fromStdString(v.text());
    case pb::TypedValue::kInt: return QString::number(v.int_());
    case pb::TypedValue::kBoolean: return v.boolean() ? "true" : "false";
    case pb::TypedValue::kBlob: return "0x" + QString::fromLatin1(QByteArray::fromStdString(v.blob()).toHex());
    case pb::TypedValue::kUuid: return QString::fromStdString(v.uuid());
    case pb::TypedValue::kDecimal: return QString::fromStdString(v.decimal());
    case pb::TypedValue::kTimestampMs:
      return QDateTime::fromMSecsSinceEpoch(v.timestamp_ms(), Qt::UTC).toString(Qt::ISODateWithMs);
    case pb::TypedValue::VALUE_NOT_SET: return "null";
  }
  return {};
}

QString timeText(int64_t us) {
  if (us == 0) return "-";
  return QDateTime::fromMSecsSinceEpoch(us / 1000, Qt::UTC).toString("yyyy-MM-dd HH:mm:ss.zzz") + " UTC";
}

// The store's own words: "InvalidQuery: unknown table x" rather than the gRPC code.
QString storeError(const grpc::Status& s) {
  QString m = QString::fromStdString(s.error_message());
  return m.isEmpty() ? describe(s) : m;
}

// A key component as typed: digits become an int, true/false a boolean, 'quoted' text
// stays text; with the table's schema known, its column type decides.
pb::TypedValue keyValue(QString text, const std::string& type) {
  pb::TypedValue v;
  text = text.trimmed();
  if (text.size() >= 2 && (text.startsWith('\'') || text.startsWith('"')) && text.endsWith(text[0])) {
    v.set_text(text.mid(1, text.size() - 2).toStdString());
    return v;
  }
  bool is_int = false;
  qlonglong n = text.toLongLong(&is_int);
  if (type == "int" || type == "bigint" || type == "counter" || type == "smallint" || (type.empty() && is_int)) {
    if (is_int) {
      v.set_int_(n);
      return v;
    }
  }
  if (type == "boolean" || (type.empty() && (text == "true" || text == "false"))) {
    v.set_boolean(text == "true");
    return v;
  }
  if (type == "uuid" || type == "timeuuid") {
    v.set_uuid(text.toStdString());
    return v;
  }
  v.set_text(text.toStdString());
  return v;
}

QTableWidgetItem* cellItem(const QString& text) {
  auto* i = new QTableWidgetItem(text);
  i->setFlags(Qt::ItemIsSelectable | Qt::ItemIsEnabled);
  return i;
}

void setStatus(QLabel* l, const QString& text, bool error) {
  l->setStyleSheet(error ? "color: #d9534f;" : "");
  l->setText(text);
}

}  // namespace

// ---- the ring ------------------------------------------------------------------------------

class StoreRing : public QWidget {
 public:
  explicit StoreRing(QWidget* parent) : QWidget(parent) {
    setMinimumSize(220, 200);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Expanding);
  }

  void setNodes(const std::vector<StoreNode>* nodes, int selected) {
    nodes_ = nodes;
    selected_ = selected;
    update();
  }
  std::function<void(int)> on_click;

 protected:
  void paintEvent(QPaintEvent*) override {
    QPainter p(this);
    p.setRenderHint(QPainter::Antialiasing);
    const QColor text = palette().color(QPalette::WindowText);
    if (nodes_ == nullptr || nodes_->empty()) {
      p.setPen(text);
      p.drawText(rect(), Qt::AlignCenter, "No store nodes yet (waiting for GetNodeStats)");
      return;
    }
    const QPointF c = rect().center();
    const double radius = std::max(30.0, std::min(width(), height()) / 2.0 - 42);
    QPen ring(palette().color(QPalette::Mid), 2);
    p.setPen(ring);
    p.setBrush(Qt::NoBrush);
    p.drawEllipse(c, radius, radius);
    const int n = static_cast<int>(nodes_->size());
    hits_.clear();
    for (int i = 0; i < n; ++i) {
      const StoreNode& node = (*nodes_)[static_cast<size_t>(i)];
      const double a = -M_PI / 2 + 2 * M_PI * i / n;
      const QPointF at(c.x() + radius * std::cos(a), c.y() + radius * std::sin(a));
      QColor fill = !node.up ? kDown : node.isolated ? kIsolated : node.added_latency_ms > 0 ? kSlow : kUp;
      const double r = 17;
      p.setPen(QPen(node.id == selected_ ? palette().color(QPalette::Highlight) : text, node.id == selected_ ? 3 : 1));
      p.setBrush(fill);
      p.drawEllipse(at, r, r);
      p.setPen(Qt::black);
      QFont f = font();
      f.setBold(true);
      p.setFont(f);
      // The circle holds the node's number; its full name goes beside it, where it fits.
      const QString number = node.name.section('-', -1);
      p.drawText(QRectF(at.x() - r, at.y() - r, 2 * r, 2 * r), Qt::AlignCenter, number);
      p.setFont(font());
      p.setPen(text);
      QString label = node.name + " · " + node.datacenter;
      if (!node.up) label += " · down";
      else if (node.isolated) label += " · isolated";
      else if (node.added_latency_ms > 0) label += QString(" · +%1 ms").arg(node.added_latency_ms);
      const double lx = at.x() + (std::cos(a) >= -0.01 ? r + 4 : -r - 4 - 170);
      p.drawText(QRectF(lx, at.y() - 9, 170, 18), (std::cos(a) >= -0.01 ? Qt::AlignLeft : Qt::AlignRight) | Qt::AlignVCenter, label);
      hits_.push_back({node.id, at});
    }
    p.setPen(palette().color(QPalette::PlaceholderText));
    p.drawText(QRectF(c.x() - 80, c.y() - 20, 160, 40), Qt::AlignCenter, "click a node\nto steer it");
  }

  void mousePressEvent(QMouseEvent* e) override {
    for (const auto& [id, at] : hits_) {
      if (QLineF(at, e->position()).length() <= 20 && on_click) {
        on_click(id);
        return;
      }
    }
  }

 private:
  const std::vector<StoreNode>* nodes_ = nullptr;
  int selected_ = 0;
  std::vector<std::pair<int, QPointF>> hits_;
};

// ---- the panel ---------------------------------------------------------------------------

StorePanel::StorePanel(GuiContext& context, QWidget* parent) : QWidget(parent), context_(context) {
  auto* root = new QVBoxLayout(this);
  root->setContentsMargins(4, 4, 4, 4);
  status_ = new QLabel(this);
  status_->setWordWrap(true);
  status_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  status_->hide();
  root->addWidget(status_);
  auto* split = new QSplitter(Qt::Vertical, this);
  root->addWidget(split, 1);

  // Top: the ring and the selected node's controls.
  auto* top = new QWidget(split);
  auto* tl = new QHBoxLayout(top);
  tl->setContentsMargins(0, 0, 0, 0);
  ring_ = new StoreRing(top);
  ring_->on_click = [this](int id) { selectNode(id); };
  tl->addWidget(ring_, 3);
  auto* controls = new QWidget(top);
  auto* cl = new QVBoxLayout(controls);
  node_title_ = new QLabel("Select a node on the ring.", controls);
  node_title_->setWordWrap(true);
  cl->addWidget(node_title_);
  down_ = new QPushButton("Take down", controls);
  down_->setToolTip("NodeDown / NodeUp: a down node takes no reads or writes; coming up replays its hints");
  cl->addWidget(down_);
  auto* slow_row = new QHBoxLayout();
  slow_ = new QSpinBox(controls);
  slow_->setRange(0, 60000);
  slow_->setSuffix(" ms");
  slow_->setToolTip("SetSlow: latency added to every request this node serves");
  slow_apply_ = new QPushButton("Set delay", controls);
  slow_row->addWidget(new QLabel("Slow", controls));
  slow_row->addWidget(slow_, 1);
  slow_row->addWidget(slow_apply_);
  cl->addLayout(slow_row);
  isolate_ = new QCheckBox("Isolated from the other nodes", controls);
  isolate_->setToolTip("SetIsolated: the node is up but cannot reach (or be reached by) other nodes");
  cl->addWidget(isolate_);
  node_stats_ = new QLabel(controls);
  node_stats_->setWordWrap(true);
  node_stats_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  cl->addWidget(node_stats_);
  cl->addStretch(1);
  tl->addWidget(controls, 2);
  connect(down_, &QPushButton::clicked, this, [this] {
    for (const auto& n : nodes_)
      if (n.id == selected_node_) setNodeDown(n.id, n.up);
  });
  connect(slow_apply_, &QPushButton::clicked, this, [this] {
    if (selected_node_ != 0) setNodeSlow(selected_node_, slow_->value());
  });
  connect(isolate_, &QCheckBox::clicked, this, [this](bool on) {
    if (selected_node_ != 0) setNodeIsolated(selected_node_, on);
  });

  auto* tabs = new QTabWidget(split);
  split->addWidget(top);
  split->addWidget(tabs);
  split->setStretchFactor(0, 2);
  split->setStretchFactor(1, 3);

  // CQL console.
  auto* console = new QWidget(tabs);
  auto* col = new QVBoxLayout(console);
  auto* cql_row = new QHBoxLayout();
  cql_ = new QLineEdit(console);
  cql_->setPlaceholderText("SELECT * FROM ledger.balances LIMIT 20   (Enter runs; Up/Down walk the history)");
  cql_->installEventFilter(this);
  consistency_ = new QComboBox(console);
  const std::pair<const char*, pb::Consistency> levels[] = {
      {"ONE", pb::CL_ONE},       {"TWO", pb::CL_TWO},       {"THREE", pb::CL_THREE},
      {"QUORUM", pb::CL_QUORUM}, {"LOCAL_QUORUM", pb::CL_LOCAL_QUORUM}, {"EACH_QUORUM", pb::CL_EACH_QUORUM},
      {"ALL", pb::CL_ALL},       {"LOCAL_ONE", pb::CL_LOCAL_ONE},       {"ANY", pb::CL_ANY},
      {"SERIAL", pb::CL_SERIAL}, {"LOCAL_SERIAL", pb::CL_LOCAL_SERIAL}};
  for (const auto& [name, cl_value] : levels) consistency_->addItem(name, static_cast<int>(cl_value));
  consistency_->setToolTip("Consistency level; SERIAL and LOCAL_SERIAL also set the serial consistency of LWTs");
  keyspace_ = new QComboBox(console);
  keyspace_->setEditable(true);
  keyspace_->setToolTip("Keyspace for unqualified table names");
  keyspace_->lineEdit()->setPlaceholderText("keyspace");
  auto* run = new QPushButton("Run", console);
  cql_row->addWidget(cql_, 1);
  cql_row->addWidget(keyspace_);
  cql_row->addWidget(consistency_);
  cql_row->addWidget(run);
  col->addLayout(cql_row);
  cql_status_ = new QLabel("Type a CQL statement. Errors appear here as the store reports them.", console);
  cql_status_->setWordWrap(true);
  cql_status_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  col->addWidget(cql_status_);
  results_ = new QTableWidget(console);
  results_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  results_->verticalHeader()->setDefaultSectionSize(results_->fontMetrics().height() + 6);
  results_->horizontalHeader()->setStretchLastSection(true);
  col->addWidget(results_, 1);
  tabs->addTab(console, "CQL");
  connect(cql_, &QLineEdit::returnPressed, this, &StorePanel::execute);
  connect(run, &QPushButton::clicked, this, &StorePanel::execute);

  // Replicas.
  auto* replicas_page = new QWidget(tabs);
  auto* rl = new QVBoxLayout(replicas_page);
  auto* form = new QHBoxLayout();
  part_keyspace_ = new QLineEdit(replicas_page);
  part_keyspace_->setPlaceholderText("keyspace");
  part_table_ = new QLineEdit(replicas_page);
  part_table_->setPlaceholderText("table");
  part_key_ = new QLineEdit(replicas_page);
  part_key_->setPlaceholderText("partition key (components separated by commas)");
  auto* show = new QPushButton("Compare replicas", replicas_page);
  form->addWidget(part_keyspace_, 1);
  form->addWidget(part_table_, 1);
  form->addWidget(part_key_, 2);
  form->addWidget(show);
  rl->addLayout(form);
  part_status_ = new QLabel("Choose a table in Schema (or type one) and a partition key to see each replica's copy.", replicas_page);
  part_status_->setWordWrap(true);
  part_status_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  rl->addWidget(part_status_);
  replicas_ = new QTableWidget(replicas_page);
  replicas_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  replicas_->verticalHeader()->hide();
  replicas_->verticalHeader()->setDefaultSectionSize(replicas_->fontMetrics().height() + 6);
  replicas_->horizontalHeader()->setStretchLastSection(true);
  rl->addWidget(replicas_, 1);
  tabs->addTab(replicas_page, "Replicas");
  connect(show, &QPushButton::clicked, this, &StorePanel::showPartition);
  connect(part_key_, &QLineEdit::returnPressed, this, &StorePanel::showPartition);

  // Schema.
  auto* schema_page = new QWidget(tabs);
  auto* sl = new QVBoxLayout(schema_page);
  schema_note_ = new QLabel(schema_page);
  schema_note_->setWordWrap(true);
  sl->addWidget(schema_note_);
  schema_tree_ = new QTreeWidget(schema_page);
  schema_tree_->setHeaderLabels({"Keyspace / table", "Columns"});
  schema_tree_->header()->setSectionResizeMode(0, QHeaderView::ResizeToContents);
  sl->addWidget(schema_tree_, 1);
  auto* reload = new QPushButton("Reload", schema_page);
  sl->addWidget(reload, 0, Qt::AlignRight);
  tabs->addTab(schema_page, "Schema");
  connect(reload, &QPushButton::clicked, this, &StorePanel::refreshSchema);
  connect(schema_tree_, &QTreeWidget::itemActivated, this, [this](QTreeWidgetItem* it, int) {
    if (it->parent() != nullptr) showTable(it->parent()->text(0), it->text(0));
  });
  connect(schema_tree_, &QTreeWidget::itemClicked, this, [this](QTreeWidgetItem* it, int) {
    if (it->parent() != nullptr) showTable(it->parent()->text(0), it->text(0));
  });

  ring_->setNodes(&nodes_, selected_node_);
  showNodeControls();
  if (!context_.live()) {
    setError("store", "The store needs a live bank: a recording has no store to inspect.");
    return;
  }
  // Tables the bank touches, from the flow: the fallback when there is no system_schema.
  connect(context_.feed, &FlowFeed::batch, this, [this](FlowBatch b) {
    std::vector<std::pair<std::string, std::string>> seen;
    for (const auto& e : *b)
      if (!e.keyspace.empty() && !e.table.empty()) seen.emplace_back(e.keyspace, e.table);
    if (!seen.empty()) noteTablesFromFlow(seen);
  });
  connect(&timer_, &QTimer::timeout, this, &StorePanel::refreshNodes);
  timer_.start(1000);
  refreshNodes();
  refreshSchema();
}

StorePanel::~StorePanel() = default;

void StorePanel::setError(const QString& where, const QString& text) {
  last_error_ = text.isEmpty() ? QString() : where + ": " + text;
  status_->setVisible(!text.isEmpty());
  status_->setStyleSheet("color: #d9534f;");
  status_->setText(last_error_);
}

void StorePanel::refreshNodes() {
  if (!context_.live() || nodes_in_flight_) return;
  nodes_in_flight_ = true;
  context_.client->call(
      this, [](Stubs& s) { return unary(s.store, &pb::Store::Stub::GetNodeStats, s, pb::Empty{}); },
      [this](Reply<pb::NodeStatsResponse> r) {
        nodes_in_flight_ = false;
        if (!r.ok()) {
          setError("GetNodeStats", describe(r.status));
          return;
        }
        if (last_error_.startsWith("GetNodeStats")) setError({}, {});
        nodes_.clear();
        for (const auto& n : r.value.nodes()) {
          StoreNode s;
          s.id = n.node();
          s.name = QString::fromStdString(n.name());
          if (s.name.isEmpty()) s.name = QString("n%1").arg(n.node());
          s.datacenter = QString::fromStdString(n.datacenter());
          s.up = n.up();
          s.isolated = n.isolated();
          s.added_latency_ms = n.added_latency_ms();
          s.writes = n.writes();
          s.reads = n.reads();
          s.hints_stored = n.hints_stored();
          s.hints_replayed = n.hints_replayed();
          s.partitions = n.partitions();
          nodes_.push_back(s);
        }
        if (selected_node_ == 0 && !nodes_.empty()) selected_node_ = nodes_.front().id;
        ring_->setNodes(&nodes_, selected_node_);
        showNodeControls();
        Q_EMIT nodesChanged();
      });
}

void StorePanel::selectNode(int node) {
  selected_node_ = node;
  ring_->setNodes(&nodes_, selected_node_);
  showNodeControls();
}

void StorePanel::showNodeControls() {
  const StoreNode* n = nullptr;
  for (const auto& x : nodes_)
    if (x.id == selected_node_) n = &x;
  const bool have = n != nullptr && context_.live();
  down_->setEnabled(have);
  slow_->setEnabled(have);
  slow_apply_->setEnabled(have);
  isolate_->setEnabled(have);
  if (n == nullptr) {
    node_title_->setText(context_.live() ? "Select a node on the ring." : "No live store.");
    node_stats_->clear();
    return;
  }
  node_title_->setText(QString("<b>%1</b> (node %2, %3): %4")
                           .arg(n->name.toHtmlEscaped())
                           .arg(n->id)
                           .arg(n->datacenter.toHtmlEscaped())
                           .arg(!n->up ? "<span style='color:#d9534f'>down</span>"
                                : n->isolated ? "<span style='color:#f09628'>isolated</span>"
                                               : "up"));
  down_->setText(n->up ? QString("Take %1 down").arg(n->name) : QString("Bring %1 up").arg(n->name));
  if (!slow_->hasFocus()) slow_->setValue(static_cast<int>(n->added_latency_ms));
  isolate_->setChecked(n->isolated);
  node_stats_->setText(QString("writes %1 · reads %2 · partitions %3\nhints stored %4 · replayed %5")
                           .arg(n->writes)
                           .arg(n->reads)
                           .arg(n->partitions)
                           .arg(n->hints_stored)
                           .arg(n->hints_replayed));
}

void StorePanel::setNodeDown(int node, bool down) {
  if (!context_.live()) return;
  pb::NodeRequest req;
  req.set_node(node);
  context_.client->call(
      this,
      [req, down](Stubs& s) {
        return down ? unary(s.store, &pb::Store::Stub::NodeDown, s, req) : unary(s.store, &pb::Store::Stub::NodeUp, s, req);
      },
      [this, node, down](Reply<pb::Empty> r) {
        const QString what = QString("node %1 %2").arg(node).arg(down ? "down" : "up");
        setError(down ? "NodeDown" : "NodeUp", r.ok() ? QString() : storeError(r.status));
        refreshNodes();
        Q_EMIT nodeActionDone(r.ok() ? what : last_error_);
      });
}

void StorePanel::setNodeSlow(int node, int64_t added_latency_ms) {
  if (!context_.live()) return;
  pb::SlowRequest req;
  req.set_node(node);
  req.set_added_latency_ms(added_latency_ms);
  context_.client->call(
      this, [req](Stubs& s) { return unary(s.store, &pb::Store::Stub::SetSlow, s, req); },
      [this, node, added_latency_ms](Reply<pb::Empty> r) {
        setError("SetSlow", r.ok() ? QString() : storeError(r.status));
        refreshNodes();
        Q_EMIT nodeActionDone(r.ok() ? QString("node %1 +%2 ms").arg(node).arg(added_latency_ms) : last_error_);
      });
}

void StorePanel::setNodeIsolated(int node, bool isolated) {
  if (!context_.live()) return;
  pb::IsolateRequest req;
  req.set_node(node);
  req.set_isolated(isolated);
  context_.client->call(
      this, [req](Stubs& s) { return unary(s.store, &pb::Store::Stub::SetIsolated, s, req); },
      [this, node, isolated](Reply<pb::Empty> r) {
        setError("SetIsolated", r.ok() ? QString() : storeError(r.status));
        refreshNodes();
        Q_EMIT nodeActionDone(r.ok() ? QString("node %1 %2").arg(node).arg(isolated ? "isolated" : "rejoined") : last_error_);
      });
}

// ---- schema ------------------------------------------------------------------------------

void StorePanel::refreshSchema() {
  if (!context_.live()) return;
  if (schema_in_flight_) {
    schema_stale_ = true;  // read again when this one answers
    return;
  }
  schema_in_flight_ = true;
  schema_stale_ = false;
  // Cassandra's own catalogue: every table with its columns, kinds and types, in process
  // or over --attach alike.
  context_.client->call(
      this,
      [](Stubs& s) {
        pb::ExecuteRequest req;
        req.set_cql("SELECT keyspace_name, table_name, column_name, kind, position, type FROM system_schema.columns");
        return unary(s.store, &pb::Store::Stub::Execute, s, req);
      },
      [this](Reply<pb::ExecuteResponse> r) {
        schema_in_flight_ = false;
        system_schema_ = r.ok();
        if (r.ok()) {
          applySchemaRows(r.value);
          schema_note_->setText("Keyspaces, tables and columns from system_schema. Click a table to query it and "
                                "to compare its replicas.");
        } else {
          schema_note_->setText("This store has no system_schema (" + storeError(r.status) +
                                "), so the tables listed are those the bank has used since the GUI started. "
                                "Click a table to query it and to compare its replicas.");
        }
        rebuildSchemaTree();
        Q_EMIT schemaRead();
        if (schema_stale_) refreshSchema();
      });
}

QStringList StorePanel::partitionKeyOf(const QString& keyspace, const QString& table) const {
  QStringList out;
  auto k = schema_.find(keyspace);
  if (k == schema_.end()) return out;
  auto t = k->second.find(table);
  if (t == k->second.end()) return out;
  for (int i = 0; i < t->second.key_columns.size(); ++i) {
    out << t->second.key_columns[i] + " " + QString::fromStdString(t->second.key_types[static_cast<size_t>(i)]);
  }
  return out;
}

void StorePanel::showPartitionOf(const QString& keyspace, const QString& table, const QString& key) {
  part_keyspace_->setText(keyspace);
  part_table_->setText(table);
  part_key_->setText(key);
  showPartition();
}

void StorePanel::applySchemaRows(const pb::ExecuteResponse& rows) {
  struct Column {
    QString name, kind, type;
    int position = 0;
  };
  std::map<QString, std::map<QString, std::vector<Column>>> read;
  for (const auto& row : rows.rows()) {
    if (row.values_size() < 6) continue;
    Column c{valueText(row.values(2)), valueText(row.values(3)), valueText(row.values(5)),
             static_cast<int>(row.values(4).int_())};
    read[valueText(row.values(0))][valueText(row.values(1))].push_back(std::move(c));
  }
  std::map<QString, std::map<QString, TableInfo>> schema;
  for (auto& [ks, tables] : read) {
    for (auto& [table, cols] : tables) {
      // Key columns first, in key order; then the rest by name, as DESCRIBE shows them.
      auto rank = [](const QString& kind) { return kind == "partition_key" ? 0 : kind == "clustering" ? 1 : 2; };
      std::sort(cols.begin(), cols.end(), [&](const Column& a, const Column& b) {
        if (rank(a.kind) != rank(b.kind)) return rank(a.kind) < rank(b.kind);
        if (a.position != b.position) return a.position < b.position;
        return a.name < b.name;
      });
      TableInfo& info = schema[ks][table];
      for (const Column& c : cols) {
        QString shown = c.name + " " + c.type;
        if (c.kind == "partition_key") {
          shown += " (partition key)";
          info.key_columns << c.name;
          info.key_types.push_back(c.type.toStdString());
        } else if (c.kind == "clustering") {
          shown += " (clustering)";
        }
        info.columns << shown;
      }
    }
  }
  schema_ = std::move(schema);
}

void StorePanel::noteTablesFromFlow(const std::vector<std::pair<std::string, std::string>>& tables) {
  bool added = false;
  for (const auto& [ks, t] : tables) {
    auto& kt = schema_[QString::fromStdString(ks)];
    if (kt.find(QString::fromStdString(t)) == kt.end()) {
      kt[QString::fromStdString(t)];
      added = true;
    }
  }
  if (!added) return;
  // A table the catalogue did not list yet (created since): read the catalogue again.
  if (system_schema_) refreshSchema();
  else rebuildSchemaTree();
}

void StorePanel::rebuildSchemaTree() {
  schema_tree_->clear();
  const QString keep = keyspace_->currentText();
  keyspace_->clear();
  keyspace_->addItem(QString());
  for (const auto& [ks, tables] : schema_) {
    auto* k = new QTreeWidgetItem(schema_tree_, {ks, QString("%1 table%2").arg(tables.size()).arg(tables.size() == 1 ? "" : "s")});
    keyspace_->addItem(ks);
    for (const auto& [t, info] : tables) {
      auto* item = new QTreeWidgetItem(k, {t, info.columns.join(", ")});
      item->setToolTip(1, info.columns.join("\n"));
    }
    k->setExpanded(true);
  }
  keyspace_->setCurrentText(keep);
  if (schema_.empty()) {
    new QTreeWidgetItem(schema_tree_, {"No tables yet", "they appear as the bank creates them"});
  }
}

void StorePanel::showTable(const QString& keyspace, const QString& table) {
  part_keyspace_->setText(keyspace);
  part_table_->setText(table);
  cql_->setText(QString("SELECT * FROM %1.%2 LIMIT 50").arg(keyspace, table));
  QStringList key_columns;
  if (auto k = schema_.find(keyspace); k != schema_.end()) {
    if (auto t = k->second.find(table); t != k->second.end()) key_columns = t->second.key_columns;
  }
  part_key_->setPlaceholderText(key_columns.isEmpty() ? QString("partition key (components separated by commas)")
                                                      : key_columns.join(", "));
}

// ---- CQL console -------------------------------------------------------------------------

bool StorePanel::eventFilter(QObject* watched, QEvent* event) {
  if (watched == cql_ && event->type() == QEvent::KeyPress) {
    auto* k = static_cast<QKeyEvent*>(event);
    if (k->key() == Qt::Key_Up && !history_.isEmpty()) {
      history_pos_ = std::max(0, history_pos_ - 1);
      cql_->setText(history_[history_pos_]);
      return true;
    }
    if (k->key() == Qt::Key_Down && !history_.isEmpty()) {
      history_pos_ = std::min<int>(static_cast<int>(history_.size()), history_pos_ + 1);
      cql_->setText(history_pos_ < history_.size() ? history_[history_pos_] : QString());
      return true;
    }
  }
  return QWidget::eventFilter(watched, event);
}

void StorePanel::execute() {
  if (!context_.live()) return;
  const QString cql = cql_->text().trimmed();
  if (cql.isEmpty()) return;
  history_.removeAll(cql);
  history_.append(cql);
  while (history_.size() > 200) history_.removeFirst();
  history_pos_ = static_cast<int>(history_.size());
  pb::ExecuteRequest req;
  req.set_cql(cql.toStdString());
  const auto level = static_cast<pb::Consistency>(consistency_->currentData().toInt());
  req.set_consistency(level);
  if (level == pb::CL_SERIAL || level == pb::CL_LOCAL_SERIAL) req.set_serial_consistency(level);
  req.set_keyspace(keyspace_->currentText().trimmed().toStdString());
  req.set_client_id("sandbank-gui");
  setStatus(cql_status_, "Running at " + consistency_->currentText() + "…", false);
  context_.client->call(
      this, [req](Stubs& s) { return unary(s.store, &pb::Store::Stub::Execute, s, req, std::chrono::seconds(15)); },
      [this, level_name = consistency_->currentText()](Reply<pb::ExecuteResponse> r) {
        if (!r.ok()) {
          setStatus(cql_status_, storeError(r.status) + "   [" + describe(r.status).section(':', 0, 0) + "]", true);
          Q_EMIT executed();
          return;
        }
        const auto& v = r.value;
        results_->clear();
        results_->setColumnCount(v.columns_size());
        QStringList headers;
        for (const auto& c : v.columns()) headers << QString::fromStdString(c.name());
        results_->setHorizontalHeaderLabels(headers);
        for (int i = 0; i < v.columns_size(); ++i)
          results_->horizontalHeaderItem(i)->setToolTip(QString::fromStdString(v.columns(i).type()));
        const int rows = std::min(v.rows_size(), kMaxResultRows);
        results_->setRowCount(rows);
        for (int i = 0; i < rows; ++i)
          for (int j = 0; j < v.rows(i).values_size() && j < v.columns_size(); ++j)
            results_->setItem(i, j, cellItem(valueText(v.rows(i).values(j))));
        results_->resizeColumnsToContents();
        QString text = v.columns_size() == 0 && v.rows_size() == 0 ? QString("Done at %1.").arg(level_name)
                                                                   : QString("%1 row%2 at %3").arg(v.rows_size()).arg(v.rows_size() == 1 ? "" : "s").arg(level_name);
        if (v.rows_size() > rows) text += QString(" (showing the first %1)").arg(rows);
        if (v.has_applied()) text += v.applied() ? " · applied" : " · NOT applied (the condition did not hold)";
        if (!v.paging_state().empty()) text += " · more pages remain";
        setStatus(cql_status_, text, false);
        Q_EMIT executed();
      });
}

// ---- replicas ----------------------------------------------------------------------------

void StorePanel::showPartition() {
  if (!context_.live()) return;
  const QString ks = part_keyspace_->text().trimmed(), table = part_table_->text().trimmed();
  if (ks.isEmpty() || table.isEmpty() || part_key_->text().trimmed().isEmpty()) {
    setStatus(part_status_, "Give a keyspace, a table and the partition key.", true);
    return;
  }
  pb::PartitionRequest req;
  req.set_keyspace(ks.toStdString());
  req.set_table(table.toStdString());
  // The key's types from system_schema (in process or attached alike); without them each
  // component is typed by its look.
  std::vector<std::string> types;
  if (auto k = schema_.find(ks); k != schema_.end()) {
    if (auto t = k->second.find(table); t != k->second.end()) types = t->second.key_types;
  }
  const QStringList parts = part_key_->text().split(',');
  for (int i = 0; i < parts.size(); ++i)
    *req.add_key() = keyValue(parts[i], static_cast<size_t>(i) < types.size() ? types[static_cast<size_t>(i)] : std::string());
  setStatus(part_status_, "Reading every replica…", false);
  context_.client->call(
      this, [req](Stubs& s) { return unary(s.store, &pb::Store::Stub::GetPartition, s, req); },
      [this](Reply<pb::PartitionResponse> r) {
        if (!r.ok()) {
          diff_ = ReplicaDiff{};
          replicas_->clear();
          replicas_->setRowCount(0);
          setStatus(part_status_, storeError(r.status), true);
          Q_EMIT partitionShown();
          return;
        }
        std::map<int, QString> names;
        for (const auto& n : nodes_) names[n.id] = n.name;
        std::vector<ReplicaData> reps;
        for (const auto& rp : r.value.replicas()) {
          ReplicaData d;
          d.node = rp.node();
          d.name = names.count(rp.node()) ? names[rp.node()].toStdString() : "node " + std::to_string(rp.node());
          d.up = rp.up();
          d.partition_deletion_time_us = rp.partition_deletion_time_us();
          for (const auto& row : rp.rows()) {
            ReplicaRowData rd;
            QStringList ck;
            for (const auto& v : row.clustering()) ck << valueText(v);
            rd.clustering = ck.join(", ").toStdString();
            rd.marker_time_us = row.marker_time_us();
            rd.deletion_time_us = row.deletion_time_us();
            for (const auto& c : row.cells()) {
              ReplicaCellData cd;
              cd.column = c.column();
              cd.value = valueText(c.value()).toStdString();
              cd.write_time_us = c.write_time_us();
              cd.ttl_seconds = c.ttl_seconds();
              cd.tombstone = c.tombstone();
              rd.cells.push_back(std::move(cd));
            }
            d.rows.push_back(std::move(rd));
          }
          reps.push_back(std::move(d));
        }
        diff_ = diffReplicas(std::move(reps));
        showDiff();
        QString text = QString("%1 replica%2 · token %3 · ")
                           .arg(diff_.replicas.size())
                           .arg(diff_.replicas.size() == 1 ? "" : "s")
                           .arg(r.value.token());
        if (diff_.lines.empty()) {
          text += "no replica holds this partition";
        } else if (diff_.agrees()) {
          text += "all replicas agree";
        } else {
          text += QString("%1 line%2 diverge (highlighted)").arg(diff_.divergent_lines).arg(diff_.divergent_lines == 1 ? "" : "s");
        }
        if (diff_.tombstones > 0) text += QString(" · %1 tombstone%2").arg(diff_.tombstones).arg(diff_.tombstones == 1 ? "" : "s");
        setStatus(part_status_, text, !diff_.agrees());
        Q_EMIT partitionShown();
      });
}

void StorePanel::showDiff() {
  replicas_->clear();
  replicas_->setColumnCount(static_cast<int>(diff_.replicas.size()) + 1);
  QStringList headers{"Row / column"};
  for (const auto& r : diff_.replicas) headers << QString::fromStdString(r.name) + (r.up ? "" : " (down)");
  replicas_->setHorizontalHeaderLabels(headers);
  replicas_->setRowCount(static_cast<int>(diff_.lines.size()));
  const bool dark = palette().color(QPalette::Base).lightness() < 128;
  const QColor diverge_bg = dark ? QColor(110, 40, 40) : QColor(255, 214, 214);
  const QColor tomb_fg = palette().color(QPalette::PlaceholderText);
  int row = 0;
  for (const auto& line : diff_.lines) {
    QString label;
    switch (line.kind) {
      case DiffLineKind::kPartition: label = "partition"; break;
      case DiffLineKind::kRow: label = line.clustering.empty() ? QString("row") : "row " + QString::fromStdString(line.clustering); break;
      case DiffLineKind::kCell: label = "    " + QString::fromStdString(line.column); break;
    }
    auto* head = cellItem(label);
    if (line.kind != DiffLineKind::kCell) {
      QFont f = head->font();
      f.setBold(true);
      head->setFont(f);
    }
    if (line.diverges) head->setBackground(diverge_bg);
    replicas_->setItem(row, 0, head);
    for (size_t i = 0; i < line.cells.size(); ++i) {
      const auto& c = line.cells[i];
      auto* it = cellItem(QString::fromStdString(c.text));
      QFont f = it->font();
      if (c.tombstone) {
        f.setStrikeOut(true);
        f.setItalic(true);
        it->setForeground(tomb_fg);
        it->setText("✝ " + it->text());
      }
      if (!c.present) {
        f.setItalic(true);
        it->setForeground(tomb_fg);
      }
      it->setFont(f);
      if (c.diverges) it->setBackground(diverge_bg);
      it->setToolTip(QString("written %1%2").arg(timeText(c.write_time_us), c.diverges ? "\ndiffers from the other replicas" : ""));
      replicas_->setItem(row, static_cast<int>(i) + 1, it);
    }
    ++row;
  }
  replicas_->resizeColumnsToContents();
}

SANDBANK_GUI_PANEL({.id = "store",
                    .title = "Store",
                    .order = 60,
                    .area = Qt::RightDockWidgetArea,
                    .shortcut = {},
                    .needs_live = true,
                    .create = [](GuiContext& c, QWidget* parent) -> QWidget* { return new StorePanel(c, parent); }})

}  // namespace sandbank::gui
