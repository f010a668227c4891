// The Bus panel's models, Qt Core only so they are tested without widgets: how a record's
// bytes read as text, the browsed records with a key/value search, the bounded
// lag-over-time history of every consumer group and which chart line stands for which group.
// Thread-safety: UI thread only (plain values and item models).
#pragma once

#include <QAbstractTableModel>
#include <QList>
#include <QPointF>
#include <QString>
#include <QStringList>

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sandbank::gui {

// One consumed record as the panel shows it (a copy of bus.ConsumerRecord).
struct BusRecord {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  int64_t timestamp_us = 0;
  int32_t delivery_attempt = 0;
  std::optional<std::string> key;  // nullopt: keyless
  std::string value;
  std::vector<std::pair<std::string, std::string>> headers;
};

// Bytes for a person: compact JSON when they parse as a JSON object or array, the text
// when it is printable UTF-8, else "0x" and hex (the first `max_hex` bytes, then "…").
QString displayBytes(const std::string& bytes, int max_hex = 64);
// The same, with JSON indented: for the record detail view.
QString displayBytesPretty(const std::string& bytes);
// "traceparent=00-…, x-retry=1"
QString displayHeaders(const std::vector<std::pair<std::string, std::string>>& headers);

// The records of one Browse call, filtered by a search that matches a substring of the
// key or of the value (as displayed, case-insensitively). Columns: offset, partition,
// timestamp, key, value, headers.
class BrowseModel : public QAbstractTableModel {
  Q_OBJECT

 public:
  enum Column { kOffset, kPartition, kTimestamp, kKey, kValue, kHeaders, kColumnCount };
  static constexpr size_t kMaxRecords = 5000;  // a browse page never holds more

  using QAbstractTableModel::QAbstractTableModel;

  // Replaces the records (oldest first); keeps at most kMaxRecords, the newest.
  void setRecords(std::vector<BusRecord> records);
  void setSearch(const QString& needle);
  const QString& search() const { return search_; }

  int totalRecords() const { return static_cast<int>(records_.size()); }
  const BusRecord* recordAt(int row) const;  // a visible row; null when out of range

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

  // Whether `r` matches `needle` (empty matches everything).
  static bool matches(const BusRecord& r, const QString& needle);

 private:
  void refilter();

  std::vector<BusRecord> records_;
  std::vector<QString> keys_, values_;  // display texts, parallel to records_
  std::vector<size_t> visible_;         // indices into records_ that match search_
  QString search_;
};

// Total lag of each consumer group over time, sampled about once a second. Each group
// keeps its newest kSamplesPerGroup samples; at most kMaxGroups groups are kept (the one
// not sampled for longest goes first).
class LagHistory {
 public:
  static constexpr size_t kSamplesPerGroup = 300;  // five minutes at one sample a second
  static constexpr size_t kMaxGroups = 64;

  struct Sample {
    double seconds;  // since the panel started
    int64_t lag;
  };

  explicit LagHistory(size_t samples_per_group = kSamplesPerGroup, size_t max_groups = kMaxGroups)
      : samples_per_group_(samples_per_group), max_groups_(max_groups) {}

  void add(const std::string& group, double seconds, int64_t lag);
  const std::deque<Sample>& samples(const std::string& group) const;  // empty when unknown
  std::vector<std::string> groups() const;  // sorted by name
  int64_t maxLag(const std::string& group) const;  // over the kept samples; 0 when none
  int64_t maxLag() const;                          // over every group's kept samples
  // When the oldest kept sample of any group was taken; nullopt when there is none.
  std::optional<double> oldestSeconds() const;
  // A group's samples as chart points, oldest first: x = seconds before `now` (<= 0 for
  // samples taken up to `now`), y = lag. Empty when the group is unknown.
  QList<QPointF> points(const std::string& group, double now) const;
  size_t samplesPerGroup() const { return samples_per_group_; }

 private:
  struct Track {
    std::deque<Sample> samples;
    double last = 0;
  };
  size_t samples_per_group_;
  size_t max_groups_;
  std::map<std::string, Track> tracks_;
};

// The lines of the lag chart: one per group the history holds, so a group that appears
// later gets its line when it appears and a group the history dropped loses its line. A
// group keeps the slot (its colour) it was given until it is dropped; the smallest free
// slot goes to the next new group, so colours do not shuffle as groups come and go.
class LagSeriesSet {
 public:
  struct Changes {
    std::vector<std::string> added;    // new groups, by name
    std::vector<std::string> removed;  // groups no longer in the history
  };

  // Brings the set in line with `groups` (LagHistory::groups()) and says what changed.
  Changes sync(const std::vector<std::string>& groups);
  int slot(const std::string& group) const;  // -1 when the group has no line
  size_t size() const { return slots_.size(); }
  std::vector<std::string> groups() const;   // sorted by name

 private:
  std::map<std::string, int> slots_;
};

// The lag axis: 0..top in ticks of `step` (1, 2 or 5 times a power of ten), with at least
// a little headroom above `max_lag` and never less than 0..10, so a flat zero line sits
// on a readable scale.
struct LagAxis {
  int64_t top;
  int64_t step;
};
LagAxis lagAxisFor(int64_t max_lag);

}  // namespace sandbank::gui
