// LogsPanel: StreamLogs on a reader thread (or a recording's logs table, read once),
// batched into LogsModel, shown through LogsFilter.
#include "logs_panel.h"

#include <QHBoxLayout>
#include <QHeaderView>
#include <QScrollBar>
#include <QVBoxLayout>

#include <algorithm>
#include <chrono>

#include <QDateTime>

#include "control_client.h"
#include "control_stubs.h"
#include "sandbank/flow/flow_query.h"
#include "panel_registry.h"
#include "services_severity.h"

namespace sandbank::gui {
namespace {

namespace pb = sandbank::control;

constexpr int kFrameMs = 16;
constexpr int kTail = 500;

LogRow rowFromProto(const pb::LogLine& l) {
  LogRow r;
  r.seq = l.seq();
  r.time = QString::fromStdString(l.time());
  r.service = QString::fromStdString(l.service());
  r.instance = QString::fromStdString(l.instance());
  r.is_stderr = l.stream() == "stderr";
  r.level = logLevelFromText(QString::fromStdString(l.level()));
  r.trace = QString::fromStdString(l.trace());
  r.message = QString::fromStdString(l.message().empty() ? l.raw() : l.message());
  return r;
}

// A recorded line as the live stream would have sent it (time in ISO-8601 UTC).
LogRow rowFromRecording(const flow::LogEntry& l, uint64_t seq) {
  LogRow r;
  r.seq = seq;
  r.time = QDateTime::fromMSecsSinceEpoch(l.time_sim_us / 1000, Qt::UTC).toString(Qt::ISODateWithMs);
  r.service = QString::fromStdString(l.service);
  r.instance = QString::fromStdString(l.instance);
  r.level = static_cast<LogLevel>(static_cast<int>(l.level));  // the same four levels, in the same order
  r.trace = QString::fromStdString(l.trace_id);
  r.message = QString::fromStdString(l.message);
  for (const auto& [k, v] : l.fields) r.message += QString(" %1=%2").arg(QString::fromStdString(k), QString::fromStdString(v));
  return r;
}

}  // namespace

LogsPanel::LogsPanel(GuiContext& context, QWidget* parent)
    : QWidget(parent), context_(context), filter_(&model_) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->setSpacing(2);

  auto* bar = new QHBoxLayout();
  bar->setContentsMargins(4, 4, 4, 0);
  search_ = new QLineEdit(this);
  search_->setObjectName("logs-search");
  search_->setPlaceholderText("Search the logs (message, trace id, instance)…");
  search_->setClearButtonEnabled(true);
  service_box_ = new QComboBox(this);
  service_box_->setObjectName("logs-service");
  service_box_->addItem("All services", QString());
  service_box_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
  level_box_ = new QComboBox(this);
  level_box_->setObjectName("logs-level");
  level_box_->addItem("debug and up", static_cast<int>(LogLevel::kDebug));
  level_box_->addItem("info and up", static_cast<int>(LogLevel::kInfo));
  level_box_->addItem("warn and up", static_cast<int>(LogLevel::kWarn));
  level_box_->addItem("errors only", static_cast<int>(LogLevel::kError));
  follow_box_ = new QCheckBox("Follow", this);
  follow_box_->setToolTip("Keep the newest line in view (pauses when you scroll up)");
  follow_box_->setChecked(true);
  bar->addWidget(search_, 1);
  bar->addWidget(service_box_);
  bar->addWidget(level_box_);
  bar->addWidget(follow_box_);
  layout->addLayout(bar);

  view_ = new QTableView(this);
  view_->setModel(&filter_);
  view_->setItemDelegate(new SeverityDelegate(view_));
  view_->setSelectionBehavior(QAbstractItemView::SelectRows);
  view_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  view_->verticalHeader()->hide();
  // Fixed row heights keep a 50 000-row view cheap: no per-row size queries.
  view_->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
  view_->verticalHeader()->setDefaultSectionSize(view_->fontMetrics().height() + 4);
  view_->setShowGrid(false);
  view_->setWordWrap(false);
  view_->setTextElideMode(Qt::ElideRight);
  QFont mono("monospace");
  mono.setStyleHint(QFont::Monospace);
  view_->setFont(mono);
  auto* header = view_->horizontalHeader();
  header->setHighlightSections(false);
  const int ch = QFontMetrics(mono).horizontalAdvance('0');
  header->resizeSection(LogsModel::kTime, ch * 14);
  header->resizeSection(LogsModel::kInstance, ch * 18);
  header->resizeSection(LogsModel::kLevel, ch * 7);
  header->setSectionResizeMode(LogsModel::kMessage, QHeaderView::Stretch);
  header->resizeSection(LogsModel::kTrace, ch * 20);
  layout->addWidget(view_, 1);

  status_ = new QLabel(this);
  status_->setObjectName("logs-status");
  status_->setContentsMargins(6, 0, 6, 3);
  layout->addWidget(status_);

  connect(search_, &QLineEdit::textChanged, this, [this](const QString& t) {
    filter_.setText(t.trimmed());
    updateStatus();
  });
  connect(service_box_, &QComboBox::currentIndexChanged, this, [this] {
    const QString service = service_box_->currentData().toString();
    filter_.setService(service);
    context_.selection->focusService(service);
    updateStatus();
  });
  connect(level_box_, &QComboBox::currentIndexChanged, this, [this] {
    filter_.setMinimumLevel(static_cast<LogLevel>(level_box_->currentData().toInt()));
    updateStatus();
  });
  connect(context_.selection, &Selection::serviceFocused, this, &LogsPanel::applyServiceFilter);
  connect(&model_, &LogsModel::serviceSeen, this, [this](const QString& service) {
    // Keep the list sorted after "All services".
    int at = 1;
    while (at < service_box_->count() && service_box_->itemText(at) < service) ++at;
    service_box_->insertItem(at, service, service);
  });

  // Auto-scroll: follow while the view is at the bottom; scrolling up pauses it, coming
  // back to the bottom (or ticking Follow) resumes it.
  QScrollBar* sb = view_->verticalScrollBar();
  connect(sb, &QScrollBar::valueChanged, this, [this, sb](int value) {
    const bool at_bottom = value >= sb->maximum() - 1;
    if (at_bottom != follow_) {
      follow_ = at_bottom;
      follow_box_->setChecked(follow_);
    }
  });
  connect(sb, &QScrollBar::rangeChanged, this, [this, sb](int, int max) {
    if (follow_) sb->setValue(max);
  });
  connect(follow_box_, &QCheckBox::toggled, this, [this](bool on) {
    follow_ = on;
    if (on) view_->scrollToBottom();
  });

  connect(view_, &QAbstractItemView::clicked, this, [this](const QModelIndex& index) {
    const QString trace = index.data(LogsModel::kTraceRole).toString();
    if (!trace.isEmpty()) context_.selection->selectTrace(trace);
  });

  connect(&frame_, &QTimer::timeout, this, &LogsPanel::drain);
  frame_.start(kFrameMs);
  if (context_.live()) {
    reader_ = std::thread([this] { readLoop(); });
  } else if (!context_.recording.empty()) {
    reader_ = std::thread([this] { readRecording(); });
  }
  updateStatus();
}

LogsPanel::~LogsPanel() {
  stopping_ = true;
  {
    std::lock_guard lock(mu_);
    if (active_call_ != nullptr) static_cast<grpc::ClientContext*>(active_call_)->TryCancel();
  }
  if (reader_.joinable()) reader_.join();
}

void LogsPanel::applyServiceFilter(const QString& service) {
  const int i = service_box_->findData(service);
  if (i >= 0) {
    service_box_->setCurrentIndex(i);
  } else if (!service.isEmpty()) {
    // A service with no line yet: filter for it anyway, so its first lines show alone.
    service_box_->addItem(service, service);
    service_box_->setCurrentIndex(service_box_->count() - 1);
  } else {
    service_box_->setCurrentIndex(0);
  }
}

void LogsPanel::drain() {
  std::vector<LogRow> rows;
  {
    std::lock_guard lock(mu_);
    rows.swap(pending_);
  }
  if (rows.empty()) {
    // Repaint the status line when the connection changed without any line arriving.
    if (shown_connected_ != connected_.load()) {
      shown_connected_ = connected_.load();
      updateStatus();
    }
    return;
  }
  model_.append(std::move(rows));
  updateStatus();
}

void LogsPanel::updateStatus() {
  QString error;
  {
    std::lock_guard lock(mu_);
    error = stream_error_;
  }
  QString text;
  if (!context_.live() && !error.isEmpty()) {  // the recording could not be read
    text = "⚠ " + error;
  } else if (!context_.live() && !recording_read_.load()) {
    text = "Reading the recording's logs…";
  } else if (!context_.live() && model_.rowCount() == 0) {
    text = "This recording holds no log lines.";
  } else if (!error.isEmpty()) {
    text = "⚠ log stream: " + error + " — reconnecting";
  } else if (!connected_.load() && model_.rowCount() == 0) {
    text = "Connecting to the log stream…";
  } else if (model_.rowCount() == 0) {
    text = "No log lines yet.";
  } else {
    text = QString("%L1 lines").arg(model_.rowCount());
    if (filter_.rowCount() != model_.rowCount()) text += QString("  ·  %L1 match the filters").arg(filter_.rowCount());
    if (model_.dropped() > 0) text += QString("  ·  oldest %L1 dropped (keeping %L2)").arg(model_.dropped()).arg(model_.capacity());
    size_t skipped = 0;
    {
      std::lock_guard lock(mu_);
      skipped = recording_skipped_;
    }
    if (skipped > 0) text += QString("  ·  the recording's oldest %L1 lines are not shown").arg(skipped);
    if (filter_.rowCount() == 0) text += "  ·  no line matches: loosen the filters";
  }
  status_->setText(text);
  status_->setStyleSheet(error.isEmpty() ? QString() : QString("color: %1;").arg(severityText(Severity::kBad, palette()).name()));
}

void LogsPanel::readRecording() {
  auto fail = [this](const std::string& why) {
    {
      std::lock_guard lock(mu_);
      stream_error_ = QString::fromStdString(context_.recording + ": " + why);
    }
    recording_read_ = true;
    connected_ = true;  // makes drain() repaint the status
  };
  auto q = flow::RecordingFlowQuery::open(context_.recording);
  if (!q.ok()) return fail(q.status().message());
  auto lines = (*q)->logs();
  if (!lines.ok()) return fail(lines.status().message());
  // The model keeps the newest kDefaultCapacity lines; the older ones count as dropped.
  const size_t skip = lines->size() > LogsModel::kDefaultCapacity ? lines->size() - LogsModel::kDefaultCapacity : 0;
  std::vector<LogRow> rows;
  rows.reserve(lines->size() - skip);
  for (size_t i = skip; i < lines->size() && !stopping_; ++i) rows.push_back(rowFromRecording((*lines)[i], i + 1));
  {
    std::lock_guard lock(mu_);
    pending_ = std::move(rows);
    recording_skipped_ = skip;
  }
  recording_read_ = true;
  connected_ = true;  // lets drain() repaint the status once the batch is in
}

void LogsPanel::readLoop() {
  Stubs& stubs = context_.client->stubs();
  uint64_t last_seq = 0;
  int failures = 0;
  while (!stopping_) {
    auto ctx = stubs.context(std::chrono::milliseconds(0));
    {
      std::lock_guard lock(mu_);
      if (stopping_) break;
      active_call_ = ctx.get();
    }
    pb::LogsRequest req;
    req.set_follow(true);
    req.set_tail(kTail);
    auto reader = stubs.control->StreamLogs(ctx.get(), req);
    pb::LogLine line;
    while (reader->Read(&line)) {
      if (!connected_.exchange(true)) {
        std::lock_guard lock(mu_);
        stream_error_.clear();
      }
      failures = 0;
      // After a reconnect the tail repeats lines we have; notes (seq 0) always pass.
      if (line.seq() != 0 && line.seq() <= last_seq) continue;
      if (line.seq() != 0) last_seq = line.seq();
      LogRow row = rowFromProto(line);
      std::lock_guard lock(mu_);
      // A stalled UI must not grow this without bound: the model keeps no more anyway.
      if (pending_.size() >= LogsModel::kDefaultCapacity) pending_.erase(pending_.begin(), pending_.begin() + kTail);
      pending_.push_back(std::move(row));
    }
    grpc::Status s = reader->Finish();
    connected_ = false;
    {
      std::lock_guard lock(mu_);
      active_call_ = nullptr;
      if (!stopping_ && !s.ok() && s.error_code() != grpc::StatusCode::CANCELLED) stream_error_ = describe(s);
    }
    if (stopping_) break;
    // Back off on repeated failures (the simulator may be restarting), staying quick to stop.
    ++failures;
    for (int i = 0; i < std::min(failures, 10) * 5 && !stopping_; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
}

SANDBANK_GUI_PANEL({.id = "logs",
                    .title = "Logs",
                    .order = 100,
                    .area = Qt::BottomDockWidgetArea,
                    .shortcut = {},
                    .needs_live = false,  // a recording's logs table is shown too
                    .create = [](GuiContext& c, QWidget* parent) -> QWidget* { return new LogsPanel(c, parent); }})

}  // namespace sandbank::gui
