// BusPanel: topics, groups and lag (polled once a second), browse and produce.
#include "bus_panel.h"

#include <QChart>
#include <QChartView>
#include <QComboBox>
#include <QFontMetrics>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLegend>
#include <QLegendMarker>
#include <QLineEdit>
#include <QLineSeries>
#include <QPen>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QSplitter>
#include <QStyle>
#include <QTabWidget>
#include <QTableView>
#include <QTableWidget>
#include <QTreeWidget>
#include <QValueAxis>
#include <QVBoxLayout>

#include <algorithm>
#include <iterator>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "control_client.h"
#include "control_stubs.h"
#include "panel_registry.h"

namespace sandbank::gui {

namespace pb = sandbank::bus;

struct BusPanel::Snapshot {
  Reply<pb::DescribeTopicsResponse> topics;
  Reply<pb::ListGroupsResponse> groups;
  // Every group described (state, members, lag per partition: what Lag returns and more),
  // so each row of the groups table is filled, not only the selected group's.
  std::map<std::string, Reply<pb::GroupInfo>> described;  // by group
};

namespace {

QTableWidgetItem* item(const QString& text, bool right = false) {
  auto* i = new QTableWidgetItem(text);
  i->setFlags(Qt::ItemIsSelectable | Qt::ItemIsEnabled);
  if (right) i->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
  return i;
}

QTableWidget* makeTable(const QStringList& headers, QWidget* parent) {
  auto* t = new QTableWidget(0, static_cast<int>(headers.size()), parent);
  t->setHorizontalHeaderLabels(headers);
  t->verticalHeader()->hide();
  t->setSelectionBehavior(QAbstractItemView::SelectRows);
  t->setSelectionMode(QAbstractItemView::SingleSelection);
  t->setEditTriggers(QAbstractItemView::NoEditTriggers);
  t->horizontalHeader()->setStretchLastSection(true);
  t->verticalHeader()->setDefaultSectionSize(t->fontMetrics().height() + 6);
  return t;
}

// Columns after the first (which stretches) start wide enough for their header and a
// typical wide value, so numbers are not cut before the first answer arrives.
void sizeColumns(QTableWidget* t, const std::vector<std::pair<int, QString>>& widest) {
  const QFontMetrics fm(t->font());
  const int margin = 2 * (t->style()->pixelMetric(QStyle::PM_FocusFrameHMargin, nullptr, t) + 1) + fm.averageCharWidth();
  for (const auto& [column, text] : widest)
    t->setColumnWidth(column, std::max(fm.horizontalAdvance(text) + margin, t->horizontalHeader()->sectionSizeHint(column)));
}

// After a refresh: a column whose values outgrew it widens; none ever shrinks, so the
// table does not jump from one second to the next.
void growColumnsToFit(QTableWidget* t) {
  const QAbstractItemView* view = t;  // sizeHintForColumn is public here, protected in QTableView
  for (int c = 1; c < t->columnCount(); ++c) {
    const int need = std::max(view->sizeHintForColumn(c), t->horizontalHeader()->sectionSizeHint(c));
    if (need > t->columnWidth(c)) t->setColumnWidth(c, need);
  }
}

QLabel* errorLabel(QWidget* parent) {
  auto* l = new QLabel(parent);
  l->setWordWrap(true);
  l->setTextInteractionFlags(Qt::TextSelectableByMouse);
  return l;
}

void showError(QLabel* l, const QString& text) {
  l->setStyleSheet(text.isEmpty() ? QString() : QString("color: #d9534f;"));
  l->setText(text);
}

void showInfo(QLabel* l, const QString& text) {
  l->setStyleSheet(QString());
  l->setText(text);
}

// The lag chart's line colours, by LagSeriesSet slot: distinct hues that read on a light
// and a dark background. Past the last, colours repeat with a dashed line.
constexpr QRgb kLineColours[] = {0x4e79a7, 0xf28e2b, 0xe15759, 0x59a14f, 0xb07aa1,
                                 0x76b7b2, 0xd4a017, 0xff9da7, 0x9c755f, 0x8c8c8c};
constexpr int kLineColourCount = static_cast<int>(std::size(kLineColours));

BusRecord fromProto(const pb::ConsumerRecord& r) {
  BusRecord b;
  b.topic = r.topic();
  b.partition = r.partition();
  b.offset = r.offset();
  b.timestamp_us = r.timestamp_us() != 0 ? r.timestamp_us() : r.append_us();
  b.delivery_attempt = r.delivery_attempt();
  if (r.has_key()) b.key = r.key();
  b.value = r.value();
  for (const auto& h : r.headers()) b.headers.emplace_back(h.key(), h.value());
  return b;
}

}  // namespace

BusPanel::BusPanel(GuiContext& context, QWidget* parent) : QWidget(parent), context_(context) {
  auto* root = new QVBoxLayout(this);
  root->setContentsMargins(4, 4, 4, 4);
  status_ = errorLabel(this);
  root->addWidget(status_);
  auto* tabs = new QTabWidget(this);
  root->addWidget(tabs, 1);

  // ---- Topics & groups ----
  auto* overview = new QSplitter(Qt::Vertical, tabs);
  topics_ = new QTreeWidget(overview);
  topics_->setHeaderLabels({"Topic / partition", "Log start", "Log end", "Records", "Bytes", "Leader"});
  topics_->setRootIsDecorated(true);
  topics_->setUniformRowHeights(true);
  topics_->header()->setSectionResizeMode(0, QHeaderView::Stretch);
  topics_->header()->setStretchLastSection(false);
  // Groups on the left, the selected group's partitions on the right; the first column
  // of each takes what the tightly sized number columns leave.
  auto* groups_box = new QSplitter(Qt::Horizontal, overview);
  groups_box->setChildrenCollapsible(false);
  groups_ = makeTable({"Group", "State", "Members", "Lag"}, groups_box);
  groups_->setObjectName("bus-groups");
  groups_->horizontalHeader()->setSectionResizeMode(0, QHeaderView::Stretch);
  groups_->horizontalHeader()->setStretchLastSection(false);
  sizeColumns(groups_, {{1, "CompletingRebalance"}, {2, "99"}, {3, "9999999"}});
  auto* detail_box = new QWidget(groups_box);
  auto* dl = new QVBoxLayout(detail_box);
  dl->setContentsMargins(0, 0, 0, 0);
  group_title_ = new QLabel("Select a group to see its lag per partition.", detail_box);
  group_title_->setWordWrap(true);
  dl->addWidget(group_title_);
  group_lag_ = makeTable({"Topic", "Part.", "Committed", "Log end", "Lag"}, detail_box);
  group_lag_->setObjectName("bus-group-lag");
  group_lag_->horizontalHeader()->setSectionResizeMode(0, QHeaderView::Stretch);
  group_lag_->horizontalHeader()->setStretchLastSection(false);
  sizeColumns(group_lag_, {{1, "99"}, {2, "9999999"}, {3, "9999999"}, {4, "9999999"}});
  dl->addWidget(group_lag_, 1);
  groups_box->addWidget(groups_);
  groups_box->addWidget(detail_box);
  groups_box->setStretchFactor(0, 1);
  groups_box->setStretchFactor(1, 1);

  chart_ = new QChart();
  chart_->setMargins(QMargins(4, 4, 4, 4));
  chart_->setBackgroundRoundness(0);
  // The legend lists every group on the right, where names of any length stay readable;
  // clicking a group there selects it in the table.
  chart_->legend()->setAlignment(Qt::AlignRight);
  chart_->legend()->setMarkerShape(QLegend::MarkerShapeFromSeries);
  chart_->legend()->setShowToolTips(true);
  axis_x_ = new QValueAxis(chart_);
  axis_x_->setTitleText("seconds ago");
  axis_x_->setLabelFormat("%d");
  axis_y_ = new QValueAxis(chart_);
  axis_y_->setTitleText("lag (records)");
  axis_y_->setLabelFormat("%d");
  axis_y_->setTickType(QValueAxis::TicksDynamic);
  axis_y_->setTickAnchor(0);
  chart_->addAxis(axis_x_, Qt::AlignBottom);
  chart_->addAxis(axis_y_, Qt::AlignLeft);
  chart_view_ = new QChartView(chart_, overview);
  chart_view_->setRenderHint(QPainter::Antialiasing);
  chart_view_->setMinimumHeight(220);
  overview->addWidget(topics_);
  overview->addWidget(groups_box);
  overview->addWidget(chart_view_);
  overview->setStretchFactor(0, 2);
  overview->setStretchFactor(1, 2);
  overview->setStretchFactor(2, 3);
  tabs->addTab(overview, "Topics && groups");
  connect(groups_, &QTableWidget::itemSelectionChanged, this, [this] {
    auto rows = groups_->selectionModel()->selectedRows();
    if (rows.isEmpty()) return;
    showGroup(groups_->item(rows.first().row(), 0)->text());
  });

  // ---- Browse ----
  auto* browse_page = new QWidget(tabs);
  auto* bl = new QVBoxLayout(browse_page);
  auto* form = new QHBoxLayout();
  browse_topic_ = new QComboBox(browse_page);
  browse_topic_->setMinimumContentsLength(16);
  browse_topic_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
  browse_partition_ = new QSpinBox(browse_page);
  browse_partition_->setRange(0, 1023);
  browse_offset_ = new QLineEdit(browse_page);
  browse_offset_->setPlaceholderText("start");
  browse_offset_->setToolTip("First offset to read; empty = the log start");
  browse_offset_->setMaximumWidth(90);
  browse_max_ = new QSpinBox(browse_page);
  browse_max_->setRange(1, static_cast<int>(BrowseModel::kMaxRecords));
  browse_max_->setValue(200);
  auto* go = new QPushButton("Browse", browse_page);
  form->addWidget(new QLabel("Topic", browse_page));
  form->addWidget(browse_topic_, 1);
  form->addWidget(new QLabel("Partition", browse_page));
  form->addWidget(browse_partition_);
  form->addWidget(new QLabel("Offset", browse_page));
  form->addWidget(browse_offset_);
  form->addWidget(new QLabel("Max", browse_page));
  form->addWidget(browse_max_);
  form->addWidget(go);
  bl->addLayout(form);
  search_ = new QLineEdit(browse_page);
  search_->setPlaceholderText("Search key or value…");
  search_->setClearButtonEnabled(true);
  bl->addWidget(search_);
  browse_status_ = errorLabel(browse_page);
  showInfo(browse_status_, "Pick a topic and partition, then Browse.");
  bl->addWidget(browse_status_);
  auto* browse_split = new QSplitter(Qt::Vertical, browse_page);
  records_ = new QTableView(browse_split);
  records_->setModel(&browse_model_);
  records_->verticalHeader()->hide();
  records_->verticalHeader()->setDefaultSectionSize(records_->fontMetrics().height() + 6);
  records_->setSelectionBehavior(QAbstractItemView::SelectRows);
  records_->setSelectionMode(QAbstractItemView::SingleSelection);
  records_->horizontalHeader()->setStretchLastSection(true);
  records_->setWordWrap(false);
  detail_ = new QPlainTextEdit(browse_split);
  detail_->setReadOnly(true);
  detail_->setPlaceholderText("Select a record to see its value and headers in full.");
  browse_split->addWidget(records_);
  browse_split->addWidget(detail_);
  browse_split->setStretchFactor(0, 3);
  browse_split->setStretchFactor(1, 1);
  bl->addWidget(browse_split, 1);
  tabs->addTab(browse_page, "Browse");
  connect(go, &QPushButton::clicked, this, &BusPanel::browse);
  connect(browse_offset_, &QLineEdit::returnPressed, this, &BusPanel::browse);
  connect(search_, &QLineEdit::textChanged, this, [this](const QString& t) {
    browse_model_.setSearch(t);
    if (browse_model_.totalRecords() > 0)
      showInfo(browse_status_, QString("%1 of %2 records match").arg(browse_model_.rowCount()).arg(browse_model_.totalRecords()));
  });
  connect(records_->selectionModel(), &QItemSelectionModel::selectionChanged, this, &BusPanel::showRecordDetail);

  // ---- Produce ----
  auto* produce_page = new QWidget(tabs);
  auto* pf = new QFormLayout(produce_page);
  produce_topic_ = new QComboBox(produce_page);
  produce_topic_->setEditable(true);
  produce_partition_ = new QLineEdit(produce_page);
  produce_partition_->setPlaceholderText("by key (or sticky when there is no key)");
  produce_key_ = new QLineEdit(produce_page);
  produce_key_->setPlaceholderText("none");
  produce_value_ = new QPlainTextEdit(produce_page);
  produce_value_->setPlaceholderText("{\"hello\": \"bus\"}");
  produce_headers_ = new QLineEdit(produce_page);
  produce_headers_->setPlaceholderText("name=value, name=value");
  auto* send = new QPushButton("Produce", produce_page);
  produce_result_ = errorLabel(produce_page);
  pf->addRow("Topic", produce_topic_);
  pf->addRow("Partition", produce_partition_);
  pf->addRow("Key", produce_key_);
  pf->addRow("Value", produce_value_);
  pf->addRow("Headers", produce_headers_);
  pf->addRow(QString(), send);
  pf->addRow("Result", produce_result_);
  tabs->addTab(produce_page, "Produce");
  connect(send, &QPushButton::clicked, this, &BusPanel::produce);

  since_start_.start();
  if (!context_.live()) {
    showError(status_, "The bus needs a live bank: a recording has no bus to inspect.");
    return;
  }
  connect(&timer_, &QTimer::timeout, this, &BusPanel::refresh);
  timer_.start(1000);
  refresh();
}

void BusPanel::refresh() {
  if (!context_.live() || refreshing_) return;
  refreshing_ = true;
  context_.client->call(
      this,
      [](Stubs& s) {
        Snapshot snap;
        snap.topics = unary(s.bus, &pb::Bus::Stub::DescribeTopics, s, pb::DescribeTopicsRequest{});
        snap.groups = unary(s.bus, &pb::Bus::Stub::ListGroups, s, pb::Empty{});
        if (snap.groups.ok()) {
          for (const auto& g : snap.groups.value.groups()) {
            pb::DescribeGroupRequest req;
            req.set_group(g);
            snap.described[g] = unary(s.bus, &pb::Bus::Stub::DescribeGroup, s, req);
          }
        }
        return snap;
      },
      [this](Snapshot snap) {
        refreshing_ = false;
        showSnapshot(snap);
        Q_EMIT refreshed();
      });
}

void BusPanel::showSnapshot(const Snapshot& s) {
  QStringList errors;
  if (!s.topics.ok()) errors << "DescribeTopics: " + describe(s.topics.status);
  if (!s.groups.ok()) errors << "ListGroups: " + describe(s.groups.status);

  if (s.topics.ok()) {
    // Topics: update in place so expansion and scrolling survive the refresh.
    std::vector<std::string> names;
    std::map<QString, QTreeWidgetItem*> existing;
    for (int i = 0; i < topics_->topLevelItemCount(); ++i) existing[topics_->topLevelItem(i)->text(0)] = topics_->topLevelItem(i);
    std::map<QString, bool> seen;
    for (const auto& t : s.topics.value.topics()) {
      names.push_back(t.name());
      const QString name = QString::fromStdString(t.name());
      seen[name] = true;
      QTreeWidgetItem* top = existing.count(name) ? existing[name] : new QTreeWidgetItem(topics_, {name});
      int64_t records = 0, bytes = 0;
      bool all_leaders = true;
      while (top->childCount() > t.partition_info_size()) delete top->takeChild(top->childCount() - 1);
      for (int p = 0; p < t.partition_info_size(); ++p) {
        const auto& pi = t.partition_info(p);
        records += pi.log_end() - pi.log_start();
        bytes += pi.bytes();
        all_leaders &= pi.leader_available();
        QTreeWidgetItem* c = p < top->childCount() ? top->child(p) : new QTreeWidgetItem(top);
        c->setText(0, QString("partition %1").arg(pi.partition()));
        c->setText(1, QString::number(pi.log_start()));
        c->setText(2, QString::number(pi.log_end()));
        c->setText(3, QString::number(pi.log_end() - pi.log_start()));
        c->setText(4, QString::number(pi.bytes()));
        c->setText(5, pi.leader_available() ? "yes" : "UNAVAILABLE");
      }
      top->setText(1, QString("%1 partition%2").arg(t.partitions()).arg(t.partitions() == 1 ? "" : "s"));
      top->setText(2, QString());
      top->setText(3, QString::number(records));
      top->setText(4, QString::number(bytes));
      top->setText(5, all_leaders ? "yes" : "UNAVAILABLE");
      top->setToolTip(0, QString("retention %1 ms, %2 bytes%3")
                             .arg(t.retention_ms())
                             .arg(t.retention_bytes())
                             .arg(t.compacted() ? ", compacted" : ""));
    }
    for (auto& [name, it] : existing)
      if (!seen.count(name)) delete it;
    for (int c = 1; c < topics_->columnCount(); ++c) topics_->resizeColumnToContents(c);
    if (names != topic_names_) {
      topic_names_ = names;
      for (QComboBox* box : {browse_topic_, produce_topic_}) {
        const QString keep = box->currentText();
        box->clear();
        for (const auto& n : names) box->addItem(QString::fromStdString(n));
        if (!keep.isEmpty()) box->setCurrentText(keep);
      }
    }
    if (names.empty()) {
      topics_->setHeaderLabels({"No topics yet: services create theirs as they start", "", "", "", "", ""});
    } else {
      topics_->setHeaderLabels({"Topic / partition", "Log start", "Log end", "Records", "Bytes", "Leader"});
    }
  }

  if (s.groups.ok()) {
    const double now = since_start_.elapsed() / 1000.0;
    groups_->setRowCount(s.groups.value.groups_size());
    int row = 0;
    for (const auto& g : s.groups.value.groups()) {
      const QString name = QString::fromStdString(g);
      auto it = s.described.find(g);
      QString state = "?", members = "?", lag_text = "?";
      if (it != s.described.end() && it->second.ok()) {
        const pb::GroupInfo& info = it->second.value;
        int64_t total = 0;
        for (const auto& l : info.lag()) total += l.lag();
        lag_history_.add(g, now, total);
        state = QString::fromStdString(info.state());
        members = QString::number(info.members_size());
        lag_text = QString::number(total);
      } else if (it != s.described.end()) {
        errors << "DescribeGroup " + name + ": " + describe(it->second.status);
      }
      if (groups_->item(row, 0) == nullptr || groups_->item(row, 0)->text() != name) groups_->setItem(row, 0, item(name));
      groups_->setItem(row, 1, item(state));
      groups_->setItem(row, 2, item(members, true));
      groups_->setItem(row, 3, item(lag_text, true));
      ++row;
    }
    if (row == 0) {
      groups_->setRowCount(1);
      groups_->setItem(0, 0, item("No consumer groups yet"));
      for (int c = 1; c < groups_->columnCount(); ++c) groups_->setItem(0, c, item(QString()));
    }
    growColumnsToFit(groups_);
    if (selected_group_.isEmpty() && s.groups.value.groups_size() > 0) groups_->selectRow(0);
  }

  const auto selected = s.described.find(selected_group_.toStdString());
  if (!selected_group_.isEmpty() && selected != s.described.end()) {
    if (selected->second.ok()) {  // an error is already listed with the groups
      const auto& g = selected->second.value;
      group_title_->setText(QString("<b>%1</b> — %2, generation %3, %4 member%5, assignor %6")
                                .arg(selected_group_.toHtmlEscaped(), QString::fromStdString(g.state()).toHtmlEscaped())
                                .arg(g.generation())
                                .arg(g.members_size())
                                .arg(g.members_size() == 1 ? "" : "s")
                                .arg(QString::fromStdString(g.assignor()).toHtmlEscaped()));
      group_lag_->setRowCount(g.lag_size());
      for (int i = 0; i < g.lag_size(); ++i) {
        const auto& l = g.lag(i);
        group_lag_->setItem(i, 0, item(QString::fromStdString(l.topic())));
        group_lag_->setItem(i, 1, item(QString::number(l.partition()), true));
        group_lag_->setItem(i, 2, item(l.committed() < 0 ? QString("none") : QString::number(l.committed()), true));
        group_lag_->setItem(i, 3, item(QString::number(l.log_end()), true));
        auto* lag = item(QString::number(l.lag()), true);
        if (l.lag() > 0) lag->setForeground(QColor(217, 83, 79));
        group_lag_->setItem(i, 4, lag);
      }
      growColumnsToFit(group_lag_);
    }
  }
  updateChart();
  if (errors.isEmpty()) {
    showInfo(status_, QString());
    status_->hide();
  } else {
    status_->show();
    showError(status_, errors.join("\n"));
  }
}

void BusPanel::showGroup(const QString& group) {
  if (group == selected_group_) return;
  selected_group_ = group;
  group_title_->setText(QString("<b>%1</b> — loading…").arg(group.toHtmlEscaped()));
  group_lag_->setRowCount(0);
  updateChart();
  styleLines();
  refresh();
}

void BusPanel::updateChart() {
  const QChart::ChartTheme theme =
      palette().color(QPalette::Window).lightness() < 128 ? QChart::ChartThemeDark : QChart::ChartThemeLight;
  bool restyle = false;
  if (chart_theme_ != theme) {
    // setTheme repaints every series in the theme's colours: done only when the theme
    // changes, and the lines get their own pens back below.
    chart_->setTheme(theme);
    chart_->setBackgroundBrush(palette().color(QPalette::Base));
    chart_theme_ = theme;
    restyle = true;
  }

  const LagSeriesSet::Changes changes = lag_lines_.sync(lag_history_.groups());
  for (const std::string& g : changes.removed) {
    auto it = lines_.find(g);
    if (it == lines_.end()) continue;
    chart_->removeSeries(it->second);
    delete it->second;
    lines_.erase(it);
  }
  for (const std::string& g : changes.added) {
    auto* line = new QLineSeries(chart_);
    line->setName(QString::fromStdString(g));
    chart_->addSeries(line);
    line->attachAxis(axis_x_);
    line->attachAxis(axis_y_);
    lines_[g] = line;
    const QString name = line->name();
    for (QLegendMarker* marker : chart_->legend()->markers(line)) {
      connect(marker, &QLegendMarker::clicked, this, [this, name] {
        for (int row = 0; row < groups_->rowCount(); ++row) {
          if (groups_->item(row, 0) != nullptr && groups_->item(row, 0)->text() == name) {
            groups_->selectRow(row);
            return;
          }
        }
      });
    }
  }
  if (highlight_ == nullptr || !changes.added.empty()) {
    // New lines are drawn over older ones: put the highlight back on top.
    if (highlight_ == nullptr) {
      highlight_ = new QLineSeries(chart_);
    } else {
      chart_->removeSeries(highlight_);
    }
    chart_->addSeries(highlight_);
    highlight_->attachAxis(axis_x_);
    highlight_->attachAxis(axis_y_);
    for (QLegendMarker* marker : chart_->legend()->markers(highlight_)) marker->setVisible(false);
  }
  restyle = restyle || !changes.added.empty() || !changes.removed.empty();

  // One replace per line: each line is its group's bounded history, re-anchored to now.
  const double now = since_start_.elapsed() / 1000.0;
  for (auto& [g, line] : lines_) line->replace(lag_history_.points(g, now));
  const std::string selected = selected_group_.toStdString();
  highlight_->replace(lines_.count(selected) ? lag_history_.points(selected, now) : QList<QPointF>());

  if (lines_.empty()) {
    chart_->setTitle("Lag over time: no consumer groups yet");
  } else if (selected_group_.isEmpty()) {
    chart_->setTitle("Lag of every consumer group over time");
  } else {
    chart_->setTitle(QString("Lag of every consumer group over time · %1 drawn thick").arg(selected_group_));
  }
  const double span = static_cast<double>(lag_history_.samplesPerGroup());
  const std::optional<double> oldest = lag_history_.oldestSeconds();
  axis_x_->setRange(-std::min(span, std::max(60.0, oldest ? now - *oldest : 60.0)), 0);
  const LagAxis y = lagAxisFor(lag_history_.maxLag());
  axis_y_->setRange(0, static_cast<double>(y.top));
  axis_y_->setTickInterval(static_cast<double>(y.step));
  if (restyle) styleLines();
}

void BusPanel::styleLines() {
  const std::string selected = selected_group_.toStdString();
  for (auto& [g, line] : lines_) {
    const int slot = std::max(0, lag_lines_.slot(g));
    QPen pen(QColor::fromRgb(kLineColours[slot % kLineColourCount]));
    const bool thick = g == selected;
    pen.setWidthF(thick ? 3.5 : 1.5);
    pen.setStyle(slot < kLineColourCount ? Qt::SolidLine : Qt::DashLine);
    line->setPen(pen);
    for (QLegendMarker* marker : chart_->legend()->markers(line)) {
      QFont font = chart_->legend()->font();
      font.setBold(thick);
      marker->setFont(font);
    }
    if (thick) highlight_->setPen(pen);
  }
}

void BusPanel::browse() {
  if (!context_.live()) return;
  const QString topic = browse_topic_->currentText();
  if (topic.isEmpty()) {
    showError(browse_status_, "Choose a topic first.");
    return;
  }
  pb::BrowseRequest req;
  req.set_topic(topic.toStdString());
  req.set_partition(browse_partition_->value());
  bool ok = true;
  const QString off = browse_offset_->text().trimmed();
  req.set_offset(off.isEmpty() ? -1 : off.toLongLong(&ok));
  if (!ok) {
    showError(browse_status_, "Offset must be a number (or empty for the log start).");
    return;
  }
  req.set_max_records(browse_max_->value());
  showInfo(browse_status_, "Reading…");
  context_.client->call(
      this, [req](Stubs& s) { return unary(s.bus, &pb::Bus::Stub::Browse, s, req); },
      [this, req](Reply<pb::BrowseResponse> r) {
        if (!r.ok()) {
          showError(browse_status_, "Browse " + QString::fromStdString(req.topic()) + ": " + describe(r.status));
          Q_EMIT browsed();
          return;
        }
        std::vector<BusRecord> records;
        records.reserve(static_cast<size_t>(r.value.records_size()));
        for (const auto& rec : r.value.records()) records.push_back(fromProto(rec));
        browse_model_.setRecords(std::move(records));
        records_->resizeColumnsToContents();
        if (records_->columnWidth(BrowseModel::kValue) > 480) records_->setColumnWidth(BrowseModel::kValue, 480);
        QString text = QString("%1 records from offset %2 · partition holds %3..%4")
                           .arg(r.value.records_size())
                           .arg(r.value.records_size() > 0 ? r.value.records(0).offset() : req.offset())
                           .arg(r.value.log_start())
                           .arg(r.value.log_end());
        if (!browse_model_.search().isEmpty()) text += QString(" · %1 match").arg(browse_model_.rowCount());
        if (r.value.records_size() == 0) text = QString("No records: the partition holds offsets %1..%2").arg(r.value.log_start()).arg(r.value.log_end());
        showInfo(browse_status_, text);
        Q_EMIT browsed();
      });
}

void BusPanel::showRecordDetail() {
  auto rows = records_->selectionModel()->selectedRows();
  const BusRecord* r = rows.isEmpty() ? nullptr : browse_model_.recordAt(rows.first().row());
  if (r == nullptr) {
    detail_->clear();
    return;
  }
  QString text = QString("%1 · partition %2 · offset %3 · delivery attempt %4\n")
                     .arg(QString::fromStdString(r->topic))
                     .arg(r->partition)
                     .arg(r->offset)
                     .arg(r->delivery_attempt);
  text += "key: " + (r->key ? displayBytes(*r->key, 256) : QString("(none)")) + "\n";
  for (const auto& [k, v] : r->headers) text += "header " + QString::fromStdString(k) + ": " + displayBytes(v, 256) + "\n";
  text += "\n" + displayBytesPretty(r->value);
  detail_->setPlainText(text);
}

void BusPanel::produce() {
  if (!context_.live()) return;
  const QString topic = produce_topic_->currentText().trimmed();
  if (topic.isEmpty()) {
    showError(produce_result_, "Choose or type a topic.");
    return;
  }
  pb::ProduceRequest req;
  req.set_topic(topic.toStdString());
  req.set_client_id("sandbank-gui");
  pb::ProducerRecord* rec = req.add_records();
  const QString part = produce_partition_->text().trimmed();
  if (!part.isEmpty()) {
    bool ok = false;
    int p = part.toInt(&ok);
    if (!ok || p < 0) {
      showError(produce_result_, "Partition must be a number (or empty to partition by key).");
      return;
    }
    rec->set_partition(p);
  }
  if (!produce_key_->text().isEmpty()) rec->set_key(produce_key_->text().toStdString());
  rec->set_value(produce_value_->toPlainText().toStdString());
  for (const QString& h : produce_headers_->text().split(',', Qt::SkipEmptyParts)) {
    const qsizetype eq = h.indexOf('=');
    if (eq <= 0) {
      showError(produce_result_, "Headers are name=value pairs separated by commas: '" + h.trimmed() + "' is not.");
      return;
    }
    auto* hd = rec->add_headers();
    hd->set_key(h.left(eq).trimmed().toStdString());
    hd->set_value(h.mid(eq + 1).trimmed().toStdString());
  }
  showInfo(produce_result_, "Producing…");
  context_.client->call(
      this, [req](Stubs& s) { return unary(s.bus, &pb::Bus::Stub::Produce, s, req); },
      [this, topic](Reply<pb::ProduceResponse> r) {
        QString text;
        if (!r.ok()) {
          text = "Failed: " + describe(r.status);
          showError(produce_result_, text);
        } else if (r.value.partitions_size() > 0 && r.value.offsets_size() > 0) {
          text = QString("Written to %1 partition %2 at offset %3").arg(topic).arg(r.value.partitions(0)).arg(r.value.offsets(0));
          showInfo(produce_result_, text);
        } else {
          text = "The bus answered without an offset";
          showError(produce_result_, text);
        }
        Q_EMIT produced(text);
      });
}

SANDBANK_GUI_PANEL({.id = "bus",
                    .title = "Bus",
                    .order = 50,
                    .area = Qt::RightDockWidgetArea,
                    .shortcut = {},
                    .needs_live = true,
                    .create = [](GuiContext& c, QWidget* parent) -> QWidget* { return new BusPanel(c, parent); }})

}  // namespace sandbank::gui
