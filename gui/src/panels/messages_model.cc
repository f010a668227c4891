// MessagesModel and MessagesProxy: the bounded, batch-fed event table and its filter.
#include "panels/messages_model.h"

#include <QColor>

#include <algorithm>
#include <cctype>

namespace sandbank::gui {
namespace {

bool isError(const flow::FlowEvent& e) { return e.status != "OK"; }

char lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

bool containsLower(const std::string& hay, const std::string& needle_lower) {
  if (needle_lower.empty()) return true;
  auto it = std::search(hay.begin(), hay.end(), needle_lower.begin(), needle_lower.end(),
                        [](char a, char b) { return lower(a) == b; });
  return it != hay.end();
}

std::string toLowerStd(const QString& s) {
  std::string out = s.trimmed().toStdString();
  for (char& c : out) c = lower(c);
  return out;
}

// A glob the user typed; no wildcard means "contains".
std::string globOf(const QString& s) {
  std::string g = toLowerStd(s);
  if (g.empty()) return g;
  if (g.find_first_of("*?") == std::string::npos) g = "*" + g + "*";
  return g;
}

}  // namespace

bool globMatch(std::string_view pattern, std::string_view text) {
  // Iterative matcher with backtracking to the last '*': linear in practice.
  size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == lower(text[t]))) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

// ---- MessagesModel ----

MessagesModel::MessagesModel(size_t capacity, QObject* parent)
    : QAbstractTableModel(parent), capacity_(std::max<size_t>(capacity, 1)), chunk_(std::max<size_t>(capacity_ / 16, 1)) {}

void MessagesModel::append(const FlowBatch& batch) {
  if (!batch || batch->empty()) return;
  size_t first = 0;
  size_t n = batch->size();
  if (n > capacity_) {  // only the newest `capacity_` of a huge batch can stay
    first = n - capacity_;
    n = capacity_;
  }
  if (rows_.size() + n > capacity_) {
    size_t evict = std::min(rows_.size(), std::max(rows_.size() + n - capacity_, chunk_));
    beginRemoveRows({}, 0, static_cast<int>(evict) - 1);
    rows_.erase(rows_.begin(), rows_.begin() + static_cast<std::ptrdiff_t>(evict));
    endRemoveRows();
  }
  const int at = static_cast<int>(rows_.size());
  beginInsertRows({}, at, at + static_cast<int>(n) - 1);
  for (size_t i = first; i < batch->size(); ++i) {
    rows_.push_back((*batch)[i]);
    if (rows_.back().payload.size() > kPayloadKept) rows_.back().payload.resize(kPayloadKept);
  }
  endInsertRows();
}

void MessagesModel::clear() {
  beginResetModel();
  rows_.clear();
  endResetModel();
}

std::optional<int> MessagesModel::rowOfId(uint64_t id) const {
  auto it = std::lower_bound(rows_.begin(), rows_.end(), id,
                             [](const flow::FlowEvent& e, uint64_t v) { return e.id < v; });
  if (it != rows_.end() && it->id == id) return static_cast<int>(it - rows_.begin());
  // Ids ascend within a feed; a reconnect could break that, so fall back to a scan.
  for (size_t i = 0; i < rows_.size(); ++i) {
    if (rows_[i].id == id) return static_cast<int>(i);
  }
  return std::nullopt;
}

std::vector<flow::FlowEvent> MessagesModel::faultsOf(const std::string& trace_id, const std::string& span_id) const {
  std::vector<flow::FlowEvent> out;
  if (trace_id.empty()) return out;
  for (const auto& e : rows_) {
    if (e.kind == flow::FlowKind::kFault && e.trace_id == trace_id && (span_id.empty() || e.parent_span_id == span_id)) {
      out.push_back(e);
    }
  }
  return out;
}

int MessagesModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(rows_.size());
}

int MessagesModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : kColumnCount; }

QString MessagesModel::formatSimTime(int64_t us) {
  const int64_t ms_of_day = ((us / 1000) % 86400000 + 86400000) % 86400000;
  const int64_t s = ms_of_day / 1000;
  return QString("%1:%2:%3.%4")
      .arg(s / 3600, 2, 10, QChar('0'))
      .arg(s / 60 % 60, 2, 10, QChar('0'))
      .arg(s % 60, 2, 10, QChar('0'))
      .arg(ms_of_day % 1000, 3, 10, QChar('0'));
}

QString MessagesModel::routeText(const flow::FlowEvent& e) {
  if (e.destination.empty() || e.destination == e.source) return QString::fromStdString(e.source);
  return QString::fromStdString(e.source) + QString(" → ") + QString::fromStdString(e.destination);
}

QString MessagesModel::whatText(const flow::FlowEvent& e) {
  if (!e.method.empty() && (e.kind == flow::FlowKind::kRpc || e.kind == flow::FlowKind::kFault)) {
    return QString::fromStdString(e.method);
  }
  if (!e.topic.empty()) {
    QString s = QString::fromStdString(e.topic);
    if (e.partition >= 0) s += QString("[%1]").arg(e.partition);
    if (e.offset >= 0) s += QString("@%1").arg(e.offset);
    return s;
  }
  if (!e.table.empty()) {
    QString s = e.keyspace.empty() ? QString::fromStdString(e.table)
                                   : QString::fromStdString(e.keyspace + "." + e.table);
    return e.method.empty() ? s : QString::fromStdString(e.method) + " " + s;
  }
  return QString::fromStdString(e.method);
}

QVariant MessagesModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || index.row() < 0 || static_cast<size_t>(index.row()) >= rows_.size()) return {};
  const flow::FlowEvent& e = rows_[static_cast<size_t>(index.row())];
  const bool fault = e.kind == flow::FlowKind::kFault;
  switch (role) {
    case Qt::DisplayRole:
      switch (index.column()) {
        case kId: return QVariant::fromValue<qulonglong>(e.id);
        case kTime: return formatSimTime(e.start_sim_us);
        case kKind: return fault ? QString("⚡ fault") : QString::fromUtf8(flow::flowKindName(e.kind).data(),
                                                                          static_cast<int>(flow::flowKindName(e.kind).size()));
        case kRoute: return routeText(e);
        case kWhat: return whatText(e);
        case kStatus: return QString::fromStdString(e.status);
        case kSize: return e.size > 0 ? QVariant::fromValue<qlonglong>(e.size) : QVariant(QString());
        case kTrace: return QString::fromStdString(e.trace_id.substr(0, 8));
        case kDetail: return QString::fromStdString(e.detail);
      }
      return {};
    case Qt::ToolTipRole:
      if (index.column() == kTrace) return QString::fromStdString(e.trace_id);
      if (index.column() == kDetail || index.column() == kWhat) return index.data(Qt::DisplayRole);
      return {};
    case Qt::ForegroundRole:
      if (isError(e)) return QColor(0xe0, 0x40, 0x40);
      return {};
    case Qt::BackgroundRole:
      if (fault) return QColor(255, 170, 0, 55);
      if (isError(e)) return QColor(224, 64, 64, 28);
      return {};
    case Qt::TextAlignmentRole:
      if (index.column() == kId || index.column() == kSize) return int(Qt::AlignRight | Qt::AlignVCenter);
      return {};
    case Qt::UserRole:
      return QVariant::fromValue<qulonglong>(e.id);
  }
  return {};
}

QVariant MessagesModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return {};
  switch (section) {
    case kId: return QString("#");
    case kTime: return QString("Sim time");
    case kKind: return QString("Kind");
    case kRoute: return QString("Source → destination");
    case kWhat: return QString("Method / topic / table");
    case kStatus: return QString("Status");
    case kSize: return QString("Size");
    case kTrace: return QString("Trace");
    case kDetail: return QString("Detail");
  }
  return {};
}

// ---- MessagesProxy ----

MessagesProxy::MessagesProxy(QObject* parent) : QSortFilterProxyModel(parent) {
  // No sorting: rows keep the feed's order, so an insertion at the end of the source is
  // judged row by row and appended, and nothing else is re-examined.
  setDynamicSortFilter(true);
}

void MessagesProxy::setFilter(const MessagesFilter& filter) {
  if (filter == filter_) return;
  filter_ = filter;
  kind_.reset();
  flow::FlowKind k;
  if (!filter.kind.isEmpty() && flow::parseFlowKind(filter.kind.toStdString(), &k)) kind_ = k;
  method_glob_ = globOf(filter.method);
  topic_glob_ = globOf(filter.topic);
  service_ = filter.service.trimmed().toStdString();
  text_lower_ = toLowerStd(filter.text);
  code_ = filter.status_code.trimmed().toStdString();
  invalidateRowsFilter();
}

bool MessagesProxy::accepts(const flow::FlowEvent& e) const {
  if (!service_.empty() && e.source != service_ && e.destination != service_ && e.topic != service_) return false;
  if (!filter_.kind.isEmpty() && (!kind_ || e.kind != *kind_)) return false;
  if (!method_glob_.empty() && !globMatch(method_glob_, e.method) && !globMatch(method_glob_, e.table)) return false;
  if (!topic_glob_.empty() && !globMatch(topic_glob_, e.topic)) return false;
  switch (filter_.status_mode) {
    case MessagesFilter::StatusMode::kAll: break;
    case MessagesFilter::StatusMode::kOk:
      if (e.status != "OK") return false;
      break;
    case MessagesFilter::StatusMode::kErrors:
      if (e.status == "OK" && e.kind != flow::FlowKind::kFault) return false;
      break;
    case MessagesFilter::StatusMode::kCode:
      if (e.status != code_) return false;
      break;
  }
  if (!text_lower_.empty()) {
    const std::string* fields[] = {&e.source, &e.destination, &e.method,  &e.topic,  &e.table,
                                   &e.detail, &e.status,      &e.trace_id, &e.partition_key, &e.consumer_group};
    bool any = false;
    for (const std::string* f : fields) {
      if (containsLower(*f, text_lower_)) {
        any = true;
        break;
      }
    }
    if (!any) return false;
  }
  return true;
}

bool MessagesProxy::filterAcceptsRow(int source_row, const QModelIndex&) const {
  ++accept_calls_;
  auto* model = static_cast<const MessagesModel*>(sourceModel());
  return accepts(model->event(source_row));
}

}  // namespace sandbank::gui
