// The Bus panel's models: record text, browse search, the lag history and its chart lines.
#include "bus_models.h"

#include <QDateTime>
#include <QJsonDocument>
#include <QStringDecoder>

#include <algorithm>
#include <set>

namespace sandbank::gui {
namespace {

std::optional<QString> asText(const std::string& bytes) {
  QStringDecoder decoder(QStringDecoder::Utf8);
  QString s = decoder(QByteArrayView(bytes.data(), static_cast<qsizetype>(bytes.size())));
  if (decoder.hasError()) return std::nullopt;
  for (QChar c : s) {
    if (c.category() == QChar::Other_Control && c != '\n' && c != '\t' && c != '\r') return std::nullopt;
  }
  return s;
}

std::optional<QJsonDocument> asJson(const std::string& bytes) {
  auto first = bytes.find_first_not_of(" \t\r\n");
  if (first == std::string::npos || (bytes[first] != '{' && bytes[first] != '[')) return std::nullopt;
  QJsonParseError err;
  QJsonDocument doc = QJsonDocument::fromJson(QByteArray(bytes.data(), static_cast<qsizetype>(bytes.size())), &err);
  if (err.error != QJsonParseError::NoError) return std::nullopt;
  return doc;
}

QString hex(const std::string& bytes, int max_hex) {
  const int n = std::min<int>(static_cast<int>(bytes.size()), max_hex);
  QString out = "0x" + QString::fromLatin1(QByteArray(bytes.data(), n).toHex());
  if (static_cast<int>(bytes.size()) > n) out += QString("… (%1 bytes)").arg(bytes.size());
  return out;
}

}  // namespace

QString displayBytes(const std::string& bytes, int max_hex) {
  if (bytes.empty()) return {};
  if (auto doc = asJson(bytes)) return QString::fromUtf8(doc->toJson(QJsonDocument::Compact));
  if (auto text = asText(bytes)) return *text;
  return hex(bytes, max_hex);
}

QString displayBytesPretty(const std::string& bytes) {
  if (auto doc = asJson(bytes)) return QString::fromUtf8(doc->toJson(QJsonDocument::Indented)).trimmed();
  return displayBytes(bytes, 4096);
}

QString displayHeaders(const std::vector<std::pair<std::string, std::string>>& headers) {
  QStringList parts;
  for (const auto& [k, v] : headers) parts << QString::fromStdString(k) + "=" + displayBytes(v, 16);
  return parts.join(", ");
}

// ---- BrowseModel -------------------------------------------------------------------------

void BrowseModel::setRecords(std::vector<BusRecord> records) {
  beginResetModel();
  if (records.size() > kMaxRecords) records.erase(records.begin(), records.end() - kMaxRecords);
  records_ = std::move(records);
  keys_.clear();
  values_.clear();
  keys_.reserve(records_.size());
  values_.reserve(records_.size());
  for (const auto& r : records_) {
    keys_.push_back(r.key ? displayBytes(*r.key) : QString());
    values_.push_back(displayBytes(r.value));
  }
  endResetModel();
  refilter();
}

void BrowseModel::setSearch(const QString& needle) {
  if (needle == search_) return;
  search_ = needle;
  refilter();
}

void BrowseModel::refilter() {
  beginResetModel();
  visible_.clear();
  for (size_t i = 0; i < records_.size(); ++i) {
    if (search_.isEmpty() || keys_[i].contains(search_, Qt::CaseInsensitive) || values_[i].contains(search_, Qt::CaseInsensitive))
      visible_.push_back(i);
  }
  endResetModel();
}

bool BrowseModel::matches(const BusRecord& r, const QString& needle) {
  if (needle.isEmpty()) return true;
  if (r.key && displayBytes(*r.key).contains(needle, Qt::CaseInsensitive)) return true;
  return displayBytes(r.value).contains(needle, Qt::CaseInsensitive);
}

const BusRecord* BrowseModel::recordAt(int row) const {
  if (row < 0 || row >= static_cast<int>(visible_.size())) return nullptr;
  return &records_[visible_[static_cast<size_t>(row)]];
}

int BrowseModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(visible_.size());
}

int BrowseModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : kColumnCount; }

QVariant BrowseModel::data(const QModelIndex& index, int role) const {
  const BusRecord* r = recordAt(index.row());
  if (r == nullptr) return {};
  const size_t i = visible_[static_cast<size_t>(index.row())];
  if (role == Qt::DisplayRole) {
    switch (index.column()) {
      case kOffset: return QVariant::fromValue<qlonglong>(r->offset);
      case kPartition: return r->partition;
      case kTimestamp:
        return QDateTime::fromMSecsSinceEpoch(r->timestamp_us / 1000, Qt::UTC).toString("HH:mm:ss.zzz");
      case kKey: return r->key ? keys_[i] : QString("(no key)");
      case kValue: return values_[i].left(300);
      case kHeaders: return displayHeaders(r->headers);
    }
  }
  if (role == Qt::ToolTipRole && index.column() == kTimestamp) {
    return QDateTime::fromMSecsSinceEpoch(r->timestamp_us / 1000, Qt::UTC).toString(Qt::ISODateWithMs);
  }
  if (role == Qt::TextAlignmentRole && (index.column() == kOffset || index.column() == kPartition)) {
    return QVariant(Qt::AlignRight | Qt::AlignVCenter);
  }
  return {};
}

QVariant BrowseModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return {};
  static const char* const kNames[] = {"Offset", "Part.", "Timestamp (UTC)", "Key", "Value", "Headers"};
  return section >= 0 && section < kColumnCount ? QString(kNames[section]) : QVariant();
}

// ---- LagHistory --------------------------------------------------------------------------

void LagHistory::add(const std::string& group, double seconds, int64_t lag) {
  auto it = tracks_.find(group);
  if (it == tracks_.end()) {
    if (tracks_.size() >= max_groups_) {
      auto oldest = std::min_element(tracks_.begin(), tracks_.end(),
                                     [](const auto& a, const auto& b) { return a.second.last < b.second.last; });
      tracks_.erase(oldest);
    }
    it = tracks_.emplace(group, Track{}).first;
  }
  Track& t = it->second;
  t.samples.push_back({seconds, lag});
  t.last = seconds;
  while (t.samples.size() > samples_per_group_) t.samples.pop_front();
}

const std::deque<LagHistory::Sample>& LagHistory::samples(const std::string& group) const {
  static const std::deque<Sample> kNone;
  auto it = tracks_.find(group);
  return it == tracks_.end() ? kNone : it->second.samples;
}

std::vector<std::string> LagHistory::groups() const {
  std::vector<std::string> out;
  for (const auto& [g, _] : tracks_) out.push_back(g);
  return out;
}

int64_t LagHistory::maxLag(const std::string& group) const {
  int64_t m = 0;
  for (const auto& s : samples(group)) m = std::max(m, s.lag);
  return m;
}

int64_t LagHistory::maxLag() const {
  int64_t m = 0;
  for (const auto& [g, t] : tracks_)
    for (const auto& s : t.samples) m = std::max(m, s.lag);
  return m;
}

std::optional<double> LagHistory::oldestSeconds() const {
  std::optional<double> oldest;
  for (const auto& [g, t] : tracks_) {
    if (!t.samples.empty() && (!oldest || t.samples.front().seconds < *oldest)) oldest = t.samples.front().seconds;
  }
  return oldest;
}

QList<QPointF> LagHistory::points(const std::string& group, double now) const {
  const auto& kept = samples(group);
  QList<QPointF> out;
  out.reserve(static_cast<qsizetype>(kept.size()));
  for (const auto& s : kept) out.append(QPointF(s.seconds - now, static_cast<double>(s.lag)));
  return out;
}

// ---- LagSeriesSet ------------------------------------------------------------------------

LagSeriesSet::Changes LagSeriesSet::sync(const std::vector<std::string>& groups) {
  Changes changes;
  const std::set<std::string> wanted(groups.begin(), groups.end());
  for (auto it = slots_.begin(); it != slots_.end();) {
    if (wanted.count(it->first)) {
      ++it;
      continue;
    }
    changes.removed.push_back(it->first);
    it = slots_.erase(it);
  }
  std::set<int> used;
  for (const auto& [g, slot] : slots_) used.insert(slot);
  int next = 0;
  for (const std::string& g : wanted) {
    if (slots_.count(g)) continue;
    while (used.count(next)) ++next;
    slots_.emplace(g, next);
    used.insert(next);
    changes.added.push_back(g);
  }
  return changes;
}

int LagSeriesSet::slot(const std::string& group) const {
  auto it = slots_.find(group);
  return it == slots_.end() ? -1 : it->second;
}

std::vector<std::string> LagSeriesSet::groups() const {
  std::vector<std::string> out;
  for (const auto& [g, _] : slots_) out.push_back(g);
  return out;
}

LagAxis lagAxisFor(int64_t max_lag) {
  // Aim for at most five ticks over the lag plus a tenth of headroom. The clamp keeps the
  // arithmetic far from overflow; no bus lags by 2^50 records.
  max_lag = std::clamp<int64_t>(max_lag, 0, int64_t{1} << 50);
  const int64_t want = std::max<int64_t>(10, max_lag + std::max<int64_t>(1, max_lag / 10));
  for (int64_t power = 1;; power *= 10) {
    for (int64_t m : {1, 2, 5}) {
      const int64_t step = m * power;
      if (want <= step * 5) return LagAxis{(want + step - 1) / step * step, step};
    }
  }
}

}  // namespace sandbank::gui
