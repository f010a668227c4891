// The Messages panel's models: MessagesModel, a table of the newest flow events fed in
// batches (one row insertion per batch, the oldest evicted in chunks), and MessagesProxy,
// the filter bar's predicate, which judges only the rows a batch inserts and rescans the
// whole list only when the filter itself changes.
// Thread-safety: UI thread only (Qt models).
#pragma once

#include <QAbstractTableModel>
#include <QSortFilterProxyModel>
#include <QString>

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "flow_feed.h"
#include "sandbank/flow/flow_event.h"

namespace sandbank::gui {

class MessagesModel : public QAbstractTableModel {
  Q_OBJECT

 public:
  enum Column { kId, kTime, kKind, kRoute, kWhat, kStatus, kSize, kTrace, kDetail, kColumnCount };
  static constexpr size_t kDefaultCapacity = 200000;
  static constexpr size_t kPayloadKept = 4096;  // bytes of each payload kept for the hex view

  explicit MessagesModel(size_t capacity = kDefaultCapacity, QObject* parent = nullptr);

  // Appends a batch (ascending ids): at most one row removal (the oldest, a chunk of at
  // least capacity/16 rows) and one row insertion.
  void append(const FlowBatch& batch);
  void clear();

  size_t capacity() const { return capacity_; }
  size_t evictionChunk() const { return chunk_; }
  const flow::FlowEvent& event(int row) const { return rows_[static_cast<size_t>(row)]; }
  // Row of the event with this id, if it is still held (binary search: ids ascend).
  std::optional<int> rowOfId(uint64_t id) const;
  // The fault events held with this trace id whose parent span is `span_id` (the faults
  // applied to that call). Scans the held rows: call on a click, not per event.
  std::vector<flow::FlowEvent> faultsOf(const std::string& trace_id, const std::string& span_id) const;

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

  static QString formatSimTime(int64_t us);  // "12:03:04.567" (UTC)
  static QString routeText(const flow::FlowEvent& e);  // "card → ledger"
  static QString whatText(const flow::FlowEvent& e);   // method, topic or keyspace.table

 private:
  size_t capacity_;
  size_t chunk_;
  std::deque<flow::FlowEvent> rows_;
};

// What the filter bar asks for. Empty fields match everything.
struct MessagesFilter {
  enum class StatusMode { kAll, kOk, kErrors, kCode };
  QString service;   // source or destination equals it
  QString kind;      // a flowKindName ("rpc"), "" for all
  QString method;    // glob over method and table
  QString topic;     // glob over the topic
  StatusMode status_mode = StatusMode::kAll;
  QString status_code;  // kCode: the status equals it
  QString text;      // case-insensitive substring of any text field
  bool operator==(const MessagesFilter&) const = default;
};

// Case-insensitive glob (* and ?) over the whole text; `pattern` must be lower case.
bool globMatch(std::string_view pattern, std::string_view text);

class MessagesProxy : public QSortFilterProxyModel {
  Q_OBJECT

 public:
  explicit MessagesProxy(QObject* parent = nullptr);

  // Re-filters every row once (only when the filter really changed).
  void setFilter(const MessagesFilter& filter);
  const MessagesFilter& filter() const { return filter_; }
  bool accepts(const flow::FlowEvent& e) const;

  // How many times filterAcceptsRow ran: tests use it to check that a batch is judged on
  // its own rows only.
  uint64_t acceptCalls() const { return accept_calls_; }

 protected:
  bool filterAcceptsRow(int source_row, const QModelIndex& source_parent) const override;

 private:
  MessagesFilter filter_;
  std::optional<flow::FlowKind> kind_;
  std::string method_glob_;  // lower case; "*x*" when the user typed no wildcard
  std::string topic_glob_;
  std::string service_;
  std::string text_lower_;
  std::string code_;
  mutable uint64_t accept_calls_ = 0;
};

}  // namespace sandbank::gui
