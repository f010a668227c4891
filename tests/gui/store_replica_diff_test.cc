// The store panel's replica comparison: replicas that agree show no divergence; a missing
// row, a differing cell and a tombstone are each marked on the replica that differs.
#include <QTest>

#include "panels/store_replica_diff.h"

namespace sandbank::gui {
namespace {

ReplicaCellData cell(const std::string& column, const std::string& value, int64_t t = 100) {
  return ReplicaCellData{column, value, t, 0, false};
}

ReplicaCellData tombstone(const std::string& column, int64_t t = 200) { return ReplicaCellData{column, "", t, 0, true}; }

ReplicaRowData row(const std::string& clustering, std::vector<ReplicaCellData> cells) {
  ReplicaRowData r;
  r.clustering = clustering;
  r.marker_time_us = 50;
  r.cells = std::move(cells);
  return r;
}

ReplicaData replica(int node, std::vector<ReplicaRowData> rows) {
  ReplicaData d;
  d.node = node;
  d.name = "n" + std::to_string(node);
  d.rows = std::move(rows);
  return d;
}

// Three replicas of a two-row partition, identical.
std::vector<ReplicaData> threeEqual() {
  std::vector<ReplicaData> reps;
  for (int n = 1; n <= 3; ++n)
    reps.push_back(replica(n, {row("1", {cell("amount", "100"), cell("note", "coffee")}),
                               row("2", {cell("amount", "250"), cell("note", "rent")})}));
  return reps;
}

const ReplicaDiffLine* findLine(const ReplicaDiff& d, DiffLineKind kind, const std::string& clustering,
                                const std::string& column = "") {
  for (const auto& l : d.lines)
    if (l.kind == kind && l.clustering == clustering && l.column == column) return &l;
  return nullptr;
}

std::vector<bool> divergingCells(const ReplicaDiffLine& l) {
  std::vector<bool> out;
  for (const auto& c : l.cells) out.push_back(c.diverges);
  return out;
}

}  // namespace

class StoreReplicaDiffTest : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void equalReplicasShowNoDivergence() {
    auto reps = threeEqual();
    reps[1].rows[0].cells[0].write_time_us = 999;  // write times alone are not a divergence
    ReplicaDiff d = diffReplicas(reps);
    QVERIFY(d.agrees());
    QCOMPARE(d.divergent_lines, 0);
    QCOMPARE(d.tombstones, 0);
    QCOMPARE(d.lines.size(), size_t(6));  // two rows, each with a row line and two cells
    for (const auto& l : d.lines) {
      QVERIFY(!l.diverges);
      QCOMPARE(l.cells.size(), size_t(3));
      for (const auto& c : l.cells) QVERIFY(!c.diverges && c.present);
    }
  }

  void aRowMissingFromOneReplicaIsMarkedOnThatReplica() {
    auto reps = threeEqual();
    reps[2].rows.pop_back();  // n3 never got row 2
    ReplicaDiff d = diffReplicas(reps);
    QVERIFY(!d.agrees());
    const ReplicaDiffLine* r2 = findLine(d, DiffLineKind::kRow, "2");
    QVERIFY(r2 != nullptr);
    QVERIFY(r2->diverges);
    QCOMPARE(divergingCells(*r2), (std::vector<bool>{false, false, true}));
    QVERIFY(!r2->cells[2].present);
    const ReplicaDiffLine* amount = findLine(d, DiffLineKind::kCell, "2", "amount");
    QVERIFY(amount != nullptr);
    QCOMPARE(divergingCells(*amount), (std::vector<bool>{false, false, true}));
    QVERIFY(!findLine(d, DiffLineKind::kRow, "1")->diverges);
    QCOMPARE(d.divergent_lines, 3);  // the row line and both of its cells
  }

  void aDifferingCellIsMarkedAndOnlyThatCell() {
    auto reps = threeEqual();
    reps[1].rows[0].cells[0].value = "90";
    ReplicaDiff d = diffReplicas(reps);
    QCOMPARE(d.divergent_lines, 1);
    const ReplicaDiffLine* amount = findLine(d, DiffLineKind::kCell, "1", "amount");
    QVERIFY(amount->diverges);
    QCOMPARE(divergingCells(*amount), (std::vector<bool>{false, true, false}));
    QCOMPARE(amount->cells[1].text, std::string("90"));
    QVERIFY(!findLine(d, DiffLineKind::kCell, "1", "note")->diverges);
  }

  void aCellTombstoneOnOneReplicaIsFlaggedAndDiverges() {
    auto reps = threeEqual();
    reps[0].rows[1].cells[1] = tombstone("note");
    ReplicaDiff d = diffReplicas(reps);
    const ReplicaDiffLine* note = findLine(d, DiffLineKind::kCell, "2", "note");
    QVERIFY(note->diverges);
    QVERIFY(note->cells[0].tombstone);
    QVERIFY(note->cells[0].diverges);
    QVERIFY(!note->cells[1].tombstone && !note->cells[1].diverges);
    QCOMPARE(d.tombstones, 1);
  }

  void aTombstoneEveryReplicaAgreesOnIsFlaggedButNotDivergent() {
    auto reps = threeEqual();
    for (auto& r : reps) r.rows[0].deletion_time_us = 300;  // row 1 deleted everywhere
    ReplicaDiff d = diffReplicas(reps);
    QVERIFY(d.agrees());
    const ReplicaDiffLine* r1 = findLine(d, DiffLineKind::kRow, "1");
    for (const auto& c : r1->cells) QVERIFY(c.tombstone && !c.diverges);
    QCOMPARE(d.tombstones, 3);
  }

  void aPartitionDeletionOnOneReplicaGetsItsOwnDivergentLine() {
    auto reps = threeEqual();
    reps[2].partition_deletion_time_us = 400;
    ReplicaDiff d = diffReplicas(reps);
    QCOMPARE(d.lines.front().kind, DiffLineKind::kPartition);
    QVERIFY(d.lines.front().diverges);
    QCOMPARE(divergingCells(d.lines.front()), (std::vector<bool>{false, false, true}));
    QVERIFY(d.lines.front().cells[2].tombstone);
  }

  void twoReplicasThatDisagreeAreBothMarked() {
    auto reps = threeEqual();
    reps.pop_back();
    reps[1].rows[0].cells[1].value = "tea";
    ReplicaDiff d = diffReplicas(reps);
    const ReplicaDiffLine* note = findLine(d, DiffLineKind::kCell, "1", "note");
    QCOMPARE(divergingCells(*note), (std::vector<bool>{true, true}));
  }

  void rowsOnlySomeReplicasHoldAreListedInTheirOrder() {
    auto reps = threeEqual();
    reps[1].rows.push_back(row("3", {cell("amount", "7")}));
    ReplicaDiff d = diffReplicas(reps);
    std::vector<std::string> keys;
    for (const auto& l : d.lines)
      if (l.kind == DiffLineKind::kRow) keys.push_back(l.clustering);
    QCOMPARE(keys, (std::vector<std::string>{"1", "2", "3"}));
    // Only n2 holds row 3: n2 is the replica that differs from the majority.
    QCOMPARE(divergingCells(*findLine(d, DiffLineKind::kRow, "3")), (std::vector<bool>{false, true, false}));
  }
};

}  // namespace sandbank::gui

QTEST_GUILESS_MAIN(sandbank::gui::StoreReplicaDiffTest)
#include "store_replica_diff_test.moc"
