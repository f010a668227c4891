// LogsModel: the newest log lines of every service, in arrival order, bounded (the oldest
// are dropped), appended in batches (one beginInsertRows per batch, at most once per frame
// from the panel). LogsFilter: the proxy the view reads, by service, minimum level and
// free text. Qt Core only: the panel converts LogLine protos to LogRow.
// Thread-safety: UI thread only.
#pragma once

#include <QAbstractTableModel>
#include <QSet>
#include <QSortFilterProxyModel>
#include <QString>

#include <cstdint>
#include <deque>
#include <vector>

namespace sandbank::gui {

enum class LogLevel : int { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };
LogLevel logLevelFromText(const QString& level);  // unknown text: info

struct LogRow {
  uint64_t seq = 0;
  QString time;      // ISO-8601 UTC as the server sent it
  QString service;
  QString instance;
  bool is_stderr = false;
  LogLevel level = LogLevel::kInfo;
  QString trace;
  QString message;
};

class LogsModel : public QAbstractTableModel {
  Q_OBJECT

 public:
  enum Column { kTime, kInstance, kLevel, kMessage, kTrace, kColumnCount };
  static constexpr int kTraceRole = Qt::UserRole + 1;
  static constexpr size_t kDefaultCapacity = 50000;

  explicit LogsModel(size_t capacity = kDefaultCapacity, QObject* parent = nullptr);

  // Appends one batch: drops the oldest rows first if the bound would be passed (one
  // beginRemoveRows), then inserts the batch (one beginInsertRows).
  void append(std::vector<LogRow> rows);
  void clear();

  const LogRow& at(int row) const { return rows_[row]; }
  size_t capacity() const { return capacity_; }
  uint64_t dropped() const { return dropped_; }  // rows dropped for the bound, so far
  const QSet<QString>& services() const { return services_; }

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

 Q_SIGNALS:
  void serviceSeen(const QString& service);  // the first line of a service not seen before

 private:
  size_t capacity_;
  std::deque<LogRow> rows_;
  uint64_t dropped_ = 0;
  QSet<QString> services_;
};

class LogsFilter : public QSortFilterProxyModel {
  Q_OBJECT

 public:
  explicit LogsFilter(LogsModel* source, QObject* parent = nullptr);

  void setService(const QString& service);  // "" = every service
  void setMinimumLevel(LogLevel level);
  void setText(const QString& text);        // case-insensitive, over message, trace and instance
  const QString& service() const { return service_; }

 protected:
  bool filterAcceptsRow(int source_row, const QModelIndex& source_parent) const override;

 private:
  LogsModel* source_;
  QString service_;
  LogLevel min_level_ = LogLevel::kDebug;
  QString text_;
};

}  // namespace sandbank::gui
