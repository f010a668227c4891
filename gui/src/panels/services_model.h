// ServicesModel: one row per service instance, from successive ListServices replies. Rows
// are updated in place (dataChanged for the cells that changed), so selection and scroll
// survive the once-a-second refresh; an instance whose restart count rose is flagged for
// a while. Qt Core only, no protos: the panel converts replies to InstanceRow.
// Thread-safety: UI thread only.
#pragma once

#include <QAbstractTableModel>
#include <QString>

#include <cstdint>
#include <vector>

namespace sandbank::gui {

struct InstanceRow {
  QString service;
  QString instance;  // "ledger-1"; the key rows are matched by
  QString state;     // pending, starting, running, healthy, unhealthy, stopping, stopped, exited, backoff, failed
  int pid = 0;
  int port = 0;
  int http_port = 0;
  int restarts = 0;  // by the restart policy after a crash; deliberate restarts do not count
  double uptime_seconds = 0;
  double cpu_percent = 0;
  int64_t rss_bytes = 0;
  // False when nothing measured the process (a recording's instance: its process is gone
  // and the recording holds no CPU or memory samples). CPU and RSS then read "—", not 0.
  bool measured = true;
  QString health;
  QString reason;
  QString last_exit;
  double next_backoff_seconds = 0;
};

class ServicesModel : public QAbstractTableModel {
  Q_OBJECT

 public:
  enum Column { kInstance, kState, kPid, kPort, kRestarts, kCpu, kRss, kUptime, kHealth, kColumnCount };
  static constexpr int kServiceRole = Qt::UserRole + 1;    // the service name of the row
  static constexpr int kRestartedRole = Qt::UserRole + 2;  // bool: restarts rose recently
  // How many refreshes an instance stays flagged after its restart count rose.
  static constexpr int kFlagRefreshes = 15;

  using QAbstractTableModel::QAbstractTableModel;

  // Replaces the rows with `instances` (a whole ListServices reply): rows that exist are
  // updated in place, new ones inserted, gone ones removed.
  void update(const std::vector<InstanceRow>& instances);

  const InstanceRow& at(int row) const { return rows_[row].info; }
  int rowOf(const QString& instance) const;        // -1 when absent
  int firstRowOfService(const QString& service) const;  // -1 when absent
  bool recentlyRestarted(int row) const;

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

  static QString formatBytes(int64_t bytes);
  static QString formatUptime(double seconds);

 private:
  struct Row {
    InstanceRow info;
    int64_t restarted_at = -1;  // refresh number when restarts last rose, -1: never seen rising
  };
  QVariant display(const Row& r, int column) const;

  std::vector<Row> rows_;
  int64_t refresh_ = 0;  // number of update() calls so far
};

}  // namespace sandbank::gui
