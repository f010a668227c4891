// FaultsModel: the fault rules of the live bank, from successive ListFaults replies,
// updated in place by id. A rule whose hit count rose since the previous reply is
// "firing" and is highlighted until a reply shows no new hits.
// Thread-safety: UI thread only.
#pragma once

#include <QAbstractTableModel>
#include <QString>

#include <vector>

#include "sandbank/control.pb.h"

namespace sandbank::gui {

class FaultsModel : public QAbstractTableModel {
  Q_OBJECT

 public:
  enum Column { kId, kMatch, kAction, kHits, kActive, kColumnCount };
  static constexpr int kIdRole = Qt::UserRole + 1;
  static constexpr int kFiringRole = Qt::UserRole + 2;

  using QAbstractTableModel::QAbstractTableModel;

  // Replaces the rules with one ListFaults reply (rows kept by id, new ones appended).
  void update(const std::vector<sandbank::control::FaultRule>& rules);

  const sandbank::control::FaultRule& at(int row) const { return rows_[row].rule; }
  bool firing(int row) const { return rows_[row].firing; }
  int rowOf(const QString& id) const;  // -1 when absent

  // "card → ledger  sandbank.bank.ledger.Ledger/*" and "delay 250ms ± 50ms, p=0.5".
  static QString describeMatch(const sandbank::control::FaultRule& r);
  static QString describeAction(const sandbank::control::FaultRule& r);

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

 private:
  struct Row {
    sandbank::control::FaultRule rule;
    bool firing = false;
  };
  std::vector<Row> rows_;
};

}  // namespace sandbank::gui
