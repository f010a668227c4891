// LogsModel and LogsFilter: bounded batched log rows and their filters.
#include "logs_model.h"

#include <QStringList>

#include "services_severity.h"

namespace sandbank::gui {

LogLevel logLevelFromText(const QString& level) {
  if (level == "debug" || level == "trace") return LogLevel::kDebug;
  if (level == "warn" || level == "warning") return LogLevel::kWarn;
  if (level == "error" || level == "fatal") return LogLevel::kError;
  return LogLevel::kInfo;
}

namespace {

const char* levelName(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
  }
  return "info";
}

}  // namespace

LogsModel::LogsModel(size_t capacity, QObject* parent) : QAbstractTableModel(parent), capacity_(capacity) {}

void LogsModel::append(std::vector<LogRow> rows) {
  if (rows.empty()) return;
  if (rows.size() > capacity_) {  // a batch bigger than the bound: only its newest lines fit
    dropped_ += rows.size() - capacity_;
    rows.erase(rows.begin(), rows.end() - static_cast<std::ptrdiff_t>(capacity_));
  }
  const size_t over = rows_.size() + rows.size() > capacity_ ? rows_.size() + rows.size() - capacity_ : 0;
  if (over > 0) {
    beginRemoveRows({}, 0, static_cast<int>(over) - 1);
    rows_.erase(rows_.begin(), rows_.begin() + static_cast<std::ptrdiff_t>(over));
    dropped_ += over;
    endRemoveRows();
  }
  QStringList fresh;
  for (const LogRow& r : rows) {
    if (!services_.contains(r.service)) {
      services_.insert(r.service);
      fresh.push_back(r.service);
    }
  }
  const int first = static_cast<int>(rows_.size());
  beginInsertRows({}, first, first + static_cast<int>(rows.size()) - 1);
  for (LogRow& r : rows) rows_.push_back(std::move(r));
  endInsertRows();
  for (const QString& s : fresh) Q_EMIT serviceSeen(s);
}

void LogsModel::clear() {
  beginResetModel();
  rows_.clear();
  endResetModel();
}

int LogsModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : static_cast<int>(rows_.size()); }
int LogsModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : kColumnCount; }

QVariant LogsModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || index.row() >= static_cast<int>(rows_.size())) return {};
  const LogRow& r = rows_[static_cast<size_t>(index.row())];
  switch (role) {
    case Qt::DisplayRole:
      switch (index.column()) {
        case kTime: {
          // "2026-11-28T21:40:01.123456Z" -> "21:40:01.123": the date is the same all day.
          const int t = static_cast<int>(r.time.indexOf('T'));
          return t >= 0 ? r.time.mid(t + 1, 12) : r.time;
        }
        case kInstance: return r.instance.isEmpty() ? r.service : r.instance;
        case kLevel: return QString(levelName(r.level));
        case kMessage: return r.message;
        case kTrace: return r.trace;
        default: return {};
      }
    case Qt::ToolTipRole:
      if (index.column() == kTrace && !r.trace.isEmpty()) return "Click to show trace " + r.trace;
      if (index.column() == kTime) return r.time;
      if (index.column() == kMessage) return r.message;
      return {};
    case kTraceRole: return r.trace;
    case kSeverityRole:
      if (index.column() == kLevel || index.column() == kMessage) {
        if (r.level == LogLevel::kError) return static_cast<int>(Severity::kBad);
        if (r.level == LogLevel::kWarn) return static_cast<int>(Severity::kWarn);
        if (r.level == LogLevel::kDebug) return static_cast<int>(Severity::kMuted);
      }
      if (index.column() == kTrace && !r.trace.isEmpty()) return static_cast<int>(Severity::kActive);
      if (index.column() == kTime) return static_cast<int>(Severity::kMuted);
      return static_cast<int>(Severity::kNone);
    case kRowSeverityRole:
      return static_cast<int>(r.level == LogLevel::kError ? Severity::kBad : Severity::kNone);
    default: return {};
  }
}

QVariant LogsModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return {};
  static const char* const kNames[] = {"Time", "Instance", "Level", "Message", "Trace"};
  return section >= 0 && section < kColumnCount ? QString(kNames[section]) : QVariant();
}

LogsFilter::LogsFilter(LogsModel* source, QObject* parent) : QSortFilterProxyModel(parent), source_(source) {
  setSourceModel(source);
  setDynamicSortFilter(false);  // rows only arrive in order; never re-sort on insert
}

void LogsFilter::setService(const QString& service) {
  if (service == service_) return;
  service_ = service;
  invalidateRowsFilter();
}

void LogsFilter::setMinimumLevel(LogLevel level) {
  if (level == min_level_) return;
  min_level_ = level;
  invalidateRowsFilter();
}

void LogsFilter::setText(const QString& text) {
  if (text == text_) return;
  text_ = text;
  invalidateRowsFilter();
}

bool LogsFilter::filterAcceptsRow(int source_row, const QModelIndex&) const {
  const LogRow& r = source_->at(source_row);
  if (!service_.isEmpty() && r.service != service_) return false;
  if (static_cast<int>(r.level) < static_cast<int>(min_level_)) return false;
  if (text_.isEmpty()) return true;
  return r.message.contains(text_, Qt::CaseInsensitive) || r.trace.contains(text_, Qt::CaseInsensitive) ||
         r.instance.contains(text_, Qt::CaseInsensitive);
}

}  // namespace sandbank::gui
