// FaultsModel: rules by id, and which of them are firing.
#include "faults_model.h"

#include <QHash>
#include <QStringList>

#include <google/protobuf/util/message_differencer.h>

#include "services_severity.h"

namespace sandbank::gui {
namespace {

namespace pb = sandbank::control;

QString q(const std::string& s) { return QString::fromStdString(s); }

QString joined(const google::protobuf::RepeatedPtrField<std::string>& names) {
  QStringList out;
  for (const auto& n : names) out << q(n);
  return out.join(", ");
}

}  // namespace

QString FaultsModel::describeMatch(const pb::FaultRule& r) {
  if (r.action() == "partition") return QString("{%1} ⟷ {%2}").arg(joined(r.side_a()), joined(r.side_b()));
  QStringList parts;
  if (!r.source().empty() || !r.destination().empty()) {
    parts << QString("%1 → %2").arg(r.source().empty() ? "*" : q(r.source()), r.destination().empty() ? "*" : q(r.destination()));
  }
  if (!r.method().empty()) parts << q(r.method());
  if (!r.topic().empty()) parts << "topic " + q(r.topic());
  if (!r.table().empty()) parts << "table " + q(r.table());
  return parts.isEmpty() ? QString("every call") : parts.join("  ");
}

QString FaultsModel::describeAction(const pb::FaultRule& r) {
  QString out = q(r.action());
  if (r.action() == "delay") {
    out += " " + q(r.delay());
    if (!r.jitter().empty()) out += " ± " + q(r.jitter());
  } else if (r.action() == "fail") {
    out += " " + q(r.code());
    if (!r.message().empty()) out += " \"" + q(r.message()) + "\"";
  }
  QStringList limits;
  if (r.probability() > 0 && r.probability() < 1) limits << QString("p=%1").arg(r.probability());
  if (!r.start_after().empty()) limits << "after " + q(r.start_after());
  if (!r.stop_after().empty()) limits << "until " + q(r.stop_after());
  if (r.max_hits() > 0) limits << QString("≤ %1 hits").arg(r.max_hits());
  if (!limits.isEmpty()) out += "  (" + limits.join(", ") + ")";
  return out;
}

void FaultsModel::update(const std::vector<pb::FaultRule>& rules) {
  QHash<QString, size_t> incoming;
  for (size_t i = 0; i < rules.size(); ++i) incoming.insert(q(rules[i].id()), i);
  for (int r = static_cast<int>(rows_.size()) - 1; r >= 0; --r) {
    if (!incoming.contains(q(rows_[r].rule.id()))) {
      beginRemoveRows({}, r, r);
      rows_.erase(rows_.begin() + r);
      endRemoveRows();
    }
  }
  QHash<QString, int> existing;
  for (int r = 0; r < static_cast<int>(rows_.size()); ++r) existing.insert(q(rows_[r].rule.id()), r);
  std::vector<Row> added;
  for (const pb::FaultRule& rule : rules) {
    auto it = existing.find(q(rule.id()));
    if (it == existing.end()) {
      added.push_back(Row{rule, rule.hits() > 0});
      continue;
    }
    Row& row = rows_[it.value()];
    const bool firing = rule.hits() > row.rule.hits();
    const bool changed = firing != row.firing || !google::protobuf::util::MessageDifferencer::Equals(rule, row.rule);
    row.rule = rule;
    row.firing = firing;
    if (changed) Q_EMIT dataChanged(index(it.value(), 0), index(it.value(), kColumnCount - 1));
  }
  if (!added.empty()) {
    const int first = static_cast<int>(rows_.size());
    beginInsertRows({}, first, first + static_cast<int>(added.size()) - 1);
    for (Row& r : added) rows_.push_back(std::move(r));
    endInsertRows();
  }
}

int FaultsModel::rowOf(const QString& id) const {
  for (int r = 0; r < static_cast<int>(rows_.size()); ++r)
    if (q(rows_[r].rule.id()) == id) return r;
  return -1;
}

int FaultsModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : static_cast<int>(rows_.size()); }
int FaultsModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : kColumnCount; }

QVariant FaultsModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || index.row() >= static_cast<int>(rows_.size())) return {};
  const Row& row = rows_[index.row()];
  const pb::FaultRule& r = row.rule;
  switch (role) {
    case Qt::DisplayRole:
      switch (index.column()) {
        case kId: return (row.firing ? "● " : "") + q(r.id());
        case kMatch: return describeMatch(r);
        case kAction: return describeAction(r);
        case kHits: return QString("%1 / %2").arg(r.hits()).arg(r.matched());
        case kActive: return r.active() ? QString("active") : QString("inactive");
        default: return {};
      }
    case Qt::ToolTipRole:
      return QString("%1\nmatch: %2\naction: %3\nhits %4 of %5 matched%6")
          .arg(q(r.id()), describeMatch(r), describeAction(r))
          .arg(r.hits())
          .arg(r.matched())
          .arg(row.firing ? "\nfiring: hits rose since the last refresh" : "");
    case kIdRole: return q(r.id());
    case kFiringRole: return row.firing;
    case kSeverityRole:
      if (index.column() == kActive) return static_cast<int>(r.active() ? Severity::kGood : Severity::kMuted);
      if (index.column() == kHits && row.firing) return static_cast<int>(Severity::kBad);
      return static_cast<int>(r.active() ? Severity::kNone : Severity::kMuted);
    case kRowSeverityRole: return static_cast<int>(row.firing ? Severity::kWarn : Severity::kNone);
    default: return {};
  }
}

QVariant FaultsModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return {};
  static const char* const kNames[] = {"Rule", "Match", "Action", "Hits / matched", "State"};
  return section >= 0 && section < kColumnCount ? QString(kNames[section]) : QVariant();
}

}  // namespace sandbank::gui
