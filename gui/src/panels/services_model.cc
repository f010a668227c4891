// ServicesModel: in-place updates from ListServices replies, and restart flagging.
#include "services_model.h"

#include <QHash>

#include "services_severity.h"

namespace sandbank::gui {
namespace {

Severity stateSeverity(const QString& state) {
  if (state == "healthy") return Severity::kGood;
  if (state == "backoff" || state == "failed" || state == "exited") return Severity::kBad;
  if (state == "unhealthy" || state == "starting" || state == "pending") return Severity::kWarn;
  if (state == "stopped" || state == "stopping") return Severity::kMuted;
  return Severity::kNone;  // running
}

bool sameInfo(const InstanceRow& a, const InstanceRow& b) {
  return a.service == b.service && a.state == b.state && a.pid == b.pid && a.port == b.port &&
         a.http_port == b.http_port && a.restarts == b.restarts && a.uptime_seconds == b.uptime_seconds &&
         a.cpu_percent == b.cpu_percent && a.rss_bytes == b.rss_bytes && a.measured == b.measured && a.health == b.health &&
         a.reason == b.reason && a.last_exit == b.last_exit && a.next_backoff_seconds == b.next_backoff_seconds;
}

}  // namespace

QString ServicesModel::formatBytes(int64_t bytes) {
  if (bytes <= 0) return "—";
  const double mib = static_cast<double>(bytes) / (1024.0 * 1024.0);
  if (mib >= 1024) return QString("%1 GiB").arg(mib / 1024.0, 0, 'f', 2);
  return QString("%1 MiB").arg(mib, 0, 'f', 1);
}

QString ServicesModel::formatUptime(double seconds) {
  if (seconds <= 0) return "—";
  const auto s = static_cast<int64_t>(seconds);
  if (s < 60) return QString("%1 s").arg(s);
  if (s < 3600) return QString("%1 m %2 s").arg(s / 60).arg(s % 60);
  return QString("%1 h %2 m").arg(s / 3600).arg((s % 3600) / 60);
}

void ServicesModel::update(const std::vector<InstanceRow>& instances) {
  ++refresh_;
  QHash<QString, size_t> incoming;
  for (size_t i = 0; i < instances.size(); ++i) incoming.insert(instances[i].instance, i);

  // Gone instances (a manifest reload, a scaled-down service): remove from the end so
  // earlier row numbers stay valid.
  for (int r = static_cast<int>(rows_.size()) - 1; r >= 0; --r) {
    if (!incoming.contains(rows_[r].info.instance)) {
      beginRemoveRows({}, r, r);
      rows_.erase(rows_.begin() + r);
      endRemoveRows();
    }
  }

  QHash<QString, int> existing;
  for (int r = 0; r < static_cast<int>(rows_.size()); ++r) existing.insert(rows_[r].info.instance, r);

  std::vector<Row> added;
  for (const InstanceRow& in : instances) {
    auto it = existing.find(in.instance);
    if (it == existing.end()) {
      // First sight: a restart count above zero is history, not news - no flag.
      added.push_back(Row{in, -1});
      continue;
    }
    Row& row = rows_[it.value()];
    // Flagged as of the previous refresh: a flag that just expired must repaint too.
    const bool was_flagged = row.restarted_at >= 0 && refresh_ - 1 - row.restarted_at < kFlagRefreshes;
    const bool changed = !sameInfo(row.info, in);
    if (in.restarts > row.info.restarts) row.restarted_at = refresh_;
    row.info = in;
    if (changed || was_flagged != recentlyRestarted(it.value())) {
      Q_EMIT dataChanged(index(it.value(), 0), index(it.value(), kColumnCount - 1));
    }
  }
  if (!added.empty()) {
    const int first = static_cast<int>(rows_.size());
    beginInsertRows({}, first, first + static_cast<int>(added.size()) - 1);
    for (Row& r : added) rows_.push_back(std::move(r));
    endInsertRows();
  }
}

int ServicesModel::rowOf(const QString& instance) const {
  for (int r = 0; r < static_cast<int>(rows_.size()); ++r)
    if (rows_[r].info.instance == instance) return r;
  return -1;
}

int ServicesModel::firstRowOfService(const QString& service) const {
  for (int r = 0; r < static_cast<int>(rows_.size()); ++r)
    if (rows_[r].info.service == service) return r;
  return -1;
}

bool ServicesModel::recentlyRestarted(int row) const {
  const Row& r = rows_[row];
  return r.restarted_at >= 0 && refresh_ - r.restarted_at < kFlagRefreshes;
}

int ServicesModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(rows_.size());
}

int ServicesModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : kColumnCount; }

QVariant ServicesModel::display(const Row& r, int column) const {
  const InstanceRow& i = r.info;
  switch (column) {
    case kInstance: return i.instance;
    case kState:
      if (i.state == "backoff" && i.next_backoff_seconds > 0)
        return QString("backoff (%1 s)").arg(i.next_backoff_seconds, 0, 'f', 1);
      return i.state;
    case kPid: return i.pid > 0 ? QVariant(i.pid) : QVariant("—");
    case kPort:
      if (i.port <= 0) return "—";
      return i.http_port > 0 ? QString("%1 · http %2").arg(i.port).arg(i.http_port) : QString::number(i.port);
    case kRestarts: return i.restarts;
    case kCpu: return i.pid > 0 && i.measured ? QString("%1 %").arg(i.cpu_percent, 0, 'f', 1) : QString("—");
    case kRss: return i.measured ? formatBytes(i.rss_bytes) : QString("—");
    case kUptime: return formatUptime(i.uptime_seconds);
    case kHealth: {
      QString text = i.state == "healthy" || i.reason.isEmpty() ? i.health : i.reason;
      if (!i.last_exit.isEmpty()) text += (text.isEmpty() ? "" : "  ·  ") + QString("last exit: ") + i.last_exit;
      return text;
    }
    default: return {};
  }
}

QVariant ServicesModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || index.row() >= static_cast<int>(rows_.size())) return {};
  const Row& r = rows_[index.row()];
  const bool flagged = recentlyRestarted(index.row());
  switch (role) {
    case Qt::DisplayRole: return display(r, index.column());
    case Qt::TextAlignmentRole:
      if (index.column() == kPid || index.column() == kRestarts || index.column() == kCpu || index.column() == kRss ||
          index.column() == kUptime)
        return static_cast<int>(Qt::AlignRight | Qt::AlignVCenter);
      return {};
    case Qt::ToolTipRole: {
      const InstanceRow& i = r.info;
      if (!i.measured && (index.column() == kCpu || index.column() == kRss))
        return QString("Not measured: the recording holds no CPU or memory samples, only process starts and exits.");
      QString tip = QString("%1 (%2): %3").arg(i.instance, i.service, i.state);
      if (!i.reason.isEmpty()) tip += "\nreason: " + i.reason;
      if (!i.health.isEmpty()) tip += "\nhealth: " + i.health;
      if (!i.last_exit.isEmpty()) tip += "\nlast exit: " + i.last_exit;
      tip += QString("\nrestarts after a crash: %1").arg(i.restarts);
      if (flagged) tip += " (restarted just now)";
      return tip;
    }
    case kServiceRole: return r.info.service;
    case kRestartedRole: return flagged;
    case kSeverityRole:
      if (index.column() == kState) return static_cast<int>(stateSeverity(r.info.state));
      if (index.column() == kRestarts) {
        if (flagged) return static_cast<int>(Severity::kBad);
        if (r.info.restarts > 0) return static_cast<int>(Severity::kWarn);
      }
      if (index.column() == kHealth && !r.info.last_exit.isEmpty() && r.info.state != "healthy")
        return static_cast<int>(Severity::kBad);
      return static_cast<int>(Severity::kNone);
    case kRowSeverityRole: {
      const Severity s = stateSeverity(r.info.state);
      if (s == Severity::kBad) return static_cast<int>(Severity::kBad);
      if (flagged) return static_cast<int>(Severity::kWarn);
      return static_cast<int>(Severity::kNone);
    }
    default: return {};
  }
}

QVariant ServicesModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal) return {};
  if (role == Qt::ToolTipRole && section == kRestarts)
    return QString("Restarts the restart policy made after the process ended on its own (a crash or a kill), "
                   "as a container's restart count. A reset between scenarios and Restart do not count.");
  if (role != Qt::DisplayRole) return {};
  static const char* const kNames[] = {"Instance", "State", "PID", "Port", "Restarts", "CPU", "RSS", "Uptime", "Health / reason"};
  return section >= 0 && section < kColumnCount ? QString(kNames[section]) : QVariant();
}

}  // namespace sandbank::gui
