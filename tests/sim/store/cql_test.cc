// The CQL front end: syntax errors with line:column and what was expected, type errors
// naming the column and its type, schema checks, prepared statements and bind markers.
#include <map>

#include "sandbank/store/cql.h"
#include "store_fixture.h"

namespace sandbank::store::testing {
namespace {

using CL = ConsistencyLevel;

class CqlTest : public StoreFixture {
 protected:
  void SetUp() override {
    start();
    ASSERT_TRUE(run("CREATE TABLE accounts (id uuid, day int, amount decimal, note text, open boolean, "
                    "at timestamp, raw blob, PRIMARY KEY (id, day))")
                    .ok());
  }
};

TEST(CqlParser, SyntaxErrorGivesLineColumnAndWhatWasExpected) {
  auto r = cql::parseCql("SELECT * FROM t\nWHERE k = 1 AND\n  = 3");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(storeErrorOf(r.status()), StoreError::kSyntaxError);
  EXPECT_NE(r.status().message().find("line 3:3"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("expected a column name"), std::string::npos) << r.status().message();

  auto missing_paren = cql::parseCql("INSERT INTO t (a, b VALUES (1, 2)");
  ASSERT_FALSE(missing_paren.ok());
  EXPECT_NE(missing_paren.status().message().find("line 1:21 expected ')', found 'VALUES'"), std::string::npos)
      << missing_paren.status().message();

  auto unterminated = cql::parseCql("INSERT INTO t (a) VALUES ('oops)");
  ASSERT_FALSE(unterminated.ok());
  EXPECT_NE(unterminated.status().message().find("line 1:27 unterminated string"), std::string::npos)
      << unterminated.status().message();

  auto garbage = cql::parseCql("SELEKT * FROM t");
  ASSERT_FALSE(garbage.ok());
  EXPECT_NE(garbage.status().message().find("line 1:1 expected a statement"), std::string::npos);
}

TEST(CqlParser, ParsesTheSupportedStatements) {
  const char* ok[] = {
      "CREATE KEYSPACE IF NOT EXISTS bank WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}",
      "CREATE TABLE IF NOT EXISTS bank.e (a text, b int, c timeuuid, v blob, PRIMARY KEY ((a, b), c)) "
      "WITH CLUSTERING ORDER BY (c DESC) AND gc_grace_seconds = 10",
      "INSERT INTO e (a, b) VALUES (?, ?) IF NOT EXISTS USING TTL 10",
      "UPDATE e USING TIMESTAMP 5 AND TTL 3 SET v = 0xCAFE WHERE a = 'x' AND b = -1 IF v = null",
      "DELETE v FROM e WHERE a = ? AND b = ? AND c = 6ba7b810-9dad-11d1-80b4-00c04fd430c8 IF EXISTS",
      "SELECT a, v FROM bank.e WHERE a = ? AND b = 1 AND c >= ? ORDER BY c ASC LIMIT ?;",
      "BEGIN UNLOGGED BATCH USING TIMESTAMP 1 INSERT INTO e (a) VALUES ('x'); DELETE FROM e WHERE a = 'y' APPLY BATCH",
      "TRUNCATE TABLE e",
      "USE bank",
      "DROP TABLE IF EXISTS e",
  };
  for (const char* text : ok) {
    auto r = cql::parseCql(text);
    EXPECT_TRUE(r.ok()) << text << " -> " << r.status().toString();
  }
  auto binds = cql::parseCql("SELECT * FROM e WHERE a = ? AND b = ? LIMIT ?");
  ASSERT_TRUE(binds.ok());
  EXPECT_EQ(binds->bind_count, 3);
}

TEST_F(CqlTest, TypeErrorsNameTheColumnAndItsType) {
  auto r = run("INSERT INTO accounts (id, day, amount) VALUES (6ba7b810-9dad-11d1-80b4-00c04fd430c8, 'monday', 1.5)");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(storeErrorOf(r.status()), StoreError::kInvalidQuery);
  EXPECT_NE(r.status().message().find("column day of type int"), std::string::npos) << r.status().message();

  auto uuid = run("INSERT INTO accounts (id, day) VALUES ('not-a-uuid', 1)");
  EXPECT_NE(uuid.status().message().find("column id of type uuid"), std::string::npos) << uuid.status().message();

  auto bound = run("SELECT * FROM accounts WHERE id = ? AND day = ?",
                   {Value::text("6ba7b810-9dad-11d1-80b4-00c04fd430c8"), Value::text("x")});
  EXPECT_NE(bound.status().message().find("column day of type int"), std::string::npos) << bound.status().message();

  auto dec = run("UPDATE accounts SET amount = 'ten' WHERE id = 6ba7b810-9dad-11d1-80b4-00c04fd430c8 AND day = 1");
  EXPECT_NE(dec.status().message().find("column amount of type decimal"), std::string::npos) << dec.status().message();
}

TEST_F(CqlTest, SchemaErrorsUseCassandraNames) {
  EXPECT_EQ(storeErrorOf(run("SELECT * FROM nope WHERE id = 1").status()), StoreError::kInvalidQuery);
  auto unknown = run("SELECT nope FROM accounts WHERE id = 6ba7b810-9dad-11d1-80b4-00c04fd430c8");
  EXPECT_NE(unknown.status().message().find("Undefined column name nope"), std::string::npos);
  auto no_pk = run("SELECT * FROM accounts WHERE day = 1");
  EXPECT_NE(no_pk.status().message().find("partition key parts are missing: id"), std::string::npos)
      << no_pk.status().message();
  auto no_ck = run("INSERT INTO accounts (id, note) VALUES (6ba7b810-9dad-11d1-80b4-00c04fd430c8, 'x')");
  EXPECT_NE(no_ck.status().message().find("clustering keys are missing: day"), std::string::npos);
  auto twice = run("CREATE TABLE accounts (id int PRIMARY KEY)");
  EXPECT_EQ(storeErrorOf(twice.status()), StoreError::kAlreadyExists);
  EXPECT_EQ(twice.status().code(), StatusCode::kAlreadyExists);
  auto marks = run("SELECT * FROM accounts WHERE id = ?");
  EXPECT_NE(marks.status().message().find("1 markers(?) in CQL but 0 bound variables"), std::string::npos);
  auto bad_type = run("CREATE TABLE t2 (id int PRIMARY KEY, v varint)");
  EXPECT_NE(bad_type.status().message().find("Unknown type varint for column v"), std::string::npos);
}

TEST_F(CqlTest, PrepareRefusesUnknownTablesAndColumnsAsExecutionWould) {
  auto table = session_->prepare("SELECT * FROM nope WHERE id = ?", "ks");
  EXPECT_EQ(storeErrorOf(table.status()), StoreError::kInvalidQuery);
  EXPECT_NE(table.status().message().find("unconfigured table nope in keyspace ks"), std::string::npos)
      << table.status().message();
  auto column = session_->prepare("UPDATE accounts SET nope = ? WHERE id = ? AND day = ?", "ks");
  EXPECT_NE(column.status().message().find("Undefined column name nope in table ks.accounts"), std::string::npos)
      << column.status().message();
  auto selected = session_->prepare("SELECT note, nope FROM accounts WHERE id = ?", "ks");
  EXPECT_NE(selected.status().message().find("Undefined column name nope"), std::string::npos)
      << selected.status().message();
  auto no_keyspace = session_->prepare("SELECT * FROM accounts WHERE id = ?", "");
  EXPECT_NE(no_keyspace.status().message().find("No keyspace has been specified"), std::string::npos);
}

TEST_F(CqlTest, SystemSchemaDescribesKeyspacesTablesAndColumnsAndIsReadOnly) {
  ASSERT_TRUE(run("CREATE KEYSPACE other WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': 2}").ok());
  ASSERT_TRUE(run("CREATE TABLE other.events (a text, b int, at bigint, v text, PRIMARY KEY ((a, b), at)) "
                  "WITH CLUSTERING ORDER BY (at DESC) AND default_time_to_live = 60")
                  .ok());
  auto keyspaces = rows("SELECT keyspace_name, replication FROM system_schema.keyspaces");
  ASSERT_EQ(keyspaces.size(), 2u);
  EXPECT_EQ(keyspaces[0][0], Value::text("ks"));
  EXPECT_NE(keyspaces[0][1].s.find("SimpleStrategy"), std::string::npos) << keyspaces[0][1].s;
  EXPECT_EQ(keyspaces[1][0], Value::text("other"));
  EXPECT_NE(keyspaces[1][1].s.find("'dc1': '2'"), std::string::npos) << keyspaces[1][1].s;

  auto tables = rows("SELECT table_name, default_time_to_live FROM system_schema.tables WHERE keyspace_name = 'other'");
  ASSERT_EQ(tables.size(), 1u);
  EXPECT_EQ(tables[0][0], Value::text("events"));
  EXPECT_EQ(tables[0][1], Value::integer(60));

  // The key's structure and types, in declaration terms, with a bind marker.
  auto columns = rows("SELECT column_name, kind, position, type, clustering_order FROM system_schema.columns "
                      "WHERE keyspace_name = ? AND table_name = ?",
                      {Value::text("other"), Value::text("events")});
  ASSERT_EQ(columns.size(), 4u);
  std::map<std::string, std::vector<Value>> by_name;
  for (auto& r : columns) by_name[r[0].s] = r;
  EXPECT_EQ(by_name["a"][1], Value::text("partition_key"));
  EXPECT_EQ(by_name["a"][2], Value::integer(0));
  EXPECT_EQ(by_name["b"][2], Value::integer(1));
  EXPECT_EQ(by_name["b"][3], Value::text("int"));
  EXPECT_EQ(by_name["at"][1], Value::text("clustering"));
  EXPECT_EQ(by_name["at"][4], Value::text("desc"));
  EXPECT_EQ(by_name["v"][1], Value::text("regular"));
  EXPECT_EQ(by_name["v"][2], Value::integer(-1));
  EXPECT_EQ(rows("SELECT * FROM system_schema.columns WHERE keyspace_name = 'ks' LIMIT 2").size(), 2u);
  EXPECT_TRUE(rows("SELECT * FROM system_schema.tables WHERE keyspace_name = 'gone'").empty());

  auto prepared = session_->prepare("SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?", "");
  ASSERT_TRUE(prepared.ok()) << prepared.status().toString();
  EXPECT_EQ((*prepared)->binds()[0].name, "keyspace_name");

  for (const char* change : {"INSERT INTO system_schema.tables (keyspace_name, table_name) VALUES ('x', 'y')",
                             "DELETE FROM system_schema.keyspaces WHERE keyspace_name = 'ks'",
                             "TRUNCATE system_schema.columns", "DROP KEYSPACE system_schema",
                             "CREATE TABLE system_schema.mine (k text PRIMARY KEY)"}) {
    auto r = run(change);
    EXPECT_EQ(storeErrorOf(r.status()), StoreError::kUnauthorized) << change << " -> " << r.status().toString();
  }
  auto unknown = run("SELECT * FROM system_schema.views");
  EXPECT_NE(unknown.status().message().find("unconfigured table views in keyspace system_schema"), std::string::npos);
  auto range = run("SELECT * FROM system_schema.tables WHERE keyspace_name > 'a'");
  EXPECT_EQ(storeErrorOf(range.status()), StoreError::kInvalidQuery);
}

TEST_F(CqlTest, PreparedStatementsKnowTheirBindTypesAndRoundTripEveryType) {
  auto ins = session_->prepare(
      "INSERT INTO accounts (id, day, amount, note, open, at, raw) VALUES (?, ?, ?, ?, ?, ?, ?) USING TTL ?", "ks");
  ASSERT_TRUE(ins.ok()) << ins.status().toString();
  ASSERT_EQ((*ins)->binds().size(), 8u);
  EXPECT_EQ((*ins)->binds()[0].name, "id");
  EXPECT_EQ((*ins)->binds()[0].type, ColumnType::kUuid);
  EXPECT_EQ((*ins)->binds()[2].type, ColumnType::kDecimal);
  EXPECT_EQ((*ins)->binds()[7].name, "[ttl]");
  QueryOptions o;
  o.keyspace = "ks";
  o.ctx.consistency = CL::kQuorum;
  const std::string id = "6BA7B810-9DAD-11D1-80B4-00C04FD430C8";
  auto w = session_->execute(**ins,
                             {Value::text(id), Value::integer(3), Value::decimal("12.50"), Value::text("it's"),
                              Value::boolean(true), Value::integer(1700000000000), Value::bytes(std::string("\x00\xff", 2)),
                              Value::integer(0)},
                             o);
  ASSERT_TRUE(w.ok()) << w.status().toString();
  auto r = rows("SELECT amount, note, open, at, raw, id FROM accounts WHERE id = ? AND day = 3", {Value::text(id)},
                CL::kQuorum);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0][0], Value::decimal("12.50"));
  EXPECT_EQ(r[0][1], Value::text("it's"));
  EXPECT_EQ(r[0][2], Value::boolean(true));
  EXPECT_EQ(r[0][3], Value::integer(1700000000000));
  EXPECT_EQ(r[0][4], Value::bytes(std::string("\x00\xff", 2)));
  EXPECT_EQ(r[0][5], Value::text("6ba7b810-9dad-11d1-80b4-00c04fd430c8"));  // canonical form
}

TEST_F(CqlTest, DeletingColumnsLeavesTheRowAndDeletingTheRowRemovesIt) {
  const std::string id = "6ba7b810-9dad-11d1-80b4-00c04fd430c8";
  ASSERT_TRUE(run("INSERT INTO accounts (id, day, note, open) VALUES (" + id + ", 1, 'n', true)", {}, CL::kAll).ok());
  ASSERT_TRUE(run("DELETE note FROM accounts WHERE id = " + id + " AND day = 1", {}, CL::kAll).ok());
  auto r = rows("SELECT note, open FROM accounts WHERE id = " + id + " AND day = 1", {}, CL::kAll);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_TRUE(r[0][0].isNull());
  EXPECT_EQ(r[0][1], Value::boolean(true));
  ASSERT_TRUE(run("DELETE FROM accounts WHERE id = " + id + " AND day = 1", {}, CL::kAll).ok());
  EXPECT_TRUE(rows("SELECT * FROM accounts WHERE id = " + id, {}, CL::kAll).empty());
}

TEST_F(CqlTest, UpdateWithoutInsertRowDisappearsWhenItsCellsAreNull) {
  ASSERT_TRUE(run("CREATE TABLE kv (k int PRIMARY KEY, v text)").ok());
  ASSERT_TRUE(run("UPDATE kv SET v = 'x' WHERE k = 1", {}, CL::kAll).ok());
  ASSERT_TRUE(run("INSERT INTO kv (k) VALUES (2)", {}, CL::kAll).ok());
  ASSERT_TRUE(run("UPDATE kv SET v = null WHERE k = 1", {}, CL::kAll).ok());
  EXPECT_TRUE(rows("SELECT * FROM kv WHERE k = 1", {}, CL::kAll).empty());
  EXPECT_EQ(rows("SELECT * FROM kv WHERE k = 2", {}, CL::kAll).size(), 1u);  // the row marker keeps it
}

TEST_F(CqlTest, RangeDeleteRemovesOnlyTheRowsWithinTheClusteringRange) {
  ASSERT_TRUE(run("CREATE TABLE ledger (acct text, day int, seq int, v text, PRIMARY KEY (acct, day, seq)) "
                  "WITH CLUSTERING ORDER BY (day DESC, seq ASC)")
                  .ok());
  for (int day = 1; day <= 3; ++day) {
    for (int seq = 1; seq <= 4; ++seq) {
      ASSERT_TRUE(run("INSERT INTO ledger (acct, day, seq, v) VALUES ('a', ?, ?, 'x')",
                      {Value::integer(day), Value::integer(seq)}, CL::kAll)
                      .ok());
    }
  }
  auto count = [&](const std::string& where) {
    return rows("SELECT * FROM ledger WHERE acct = 'a'" + where, {}, CL::kAll).size();
  };
  // A range on the column after an equality prefix (exclusive and inclusive ends).
  ASSERT_TRUE(run("DELETE FROM ledger WHERE acct = 'a' AND day = 2 AND seq > 1 AND seq <= 3", {}, CL::kAll).ok());
  auto day2 = rows("SELECT seq FROM ledger WHERE acct = 'a' AND day = 2", {}, CL::kAll);
  ASSERT_EQ(day2.size(), 2u);
  EXPECT_EQ(day2[0][0], Value::integer(1));
  EXPECT_EQ(day2[1][0], Value::integer(4));
  // A prefix: every row of day 3.
  ASSERT_TRUE(run("DELETE FROM ledger WHERE acct = 'a' AND day = 3", {}, CL::kAll).ok());
  EXPECT_EQ(count(" AND day = 3"), 0u);
  EXPECT_EQ(count(" AND day = 1"), 4u);
  // A range on a DESC column: day < 2 leaves days 2 (two rows left) and 3 (deleted).
  ASSERT_TRUE(run("DELETE FROM ledger WHERE acct = 'a' AND day < 2", {}, CL::kAll).ok());
  EXPECT_EQ(count(""), 2u);
  // Data written after the range deletion, with a newer timestamp, is live again.
  ASSERT_TRUE(run("INSERT INTO ledger (acct, day, seq, v) VALUES ('a', 3, 9, 'new')", {}, CL::kAll).ok());
  EXPECT_EQ(count(" AND day = 3"), 1u);
  // ...but a write carrying an older timestamp stays shadowed.
  ASSERT_TRUE(run("INSERT INTO ledger (acct, day, seq, v) VALUES ('a', 1, 7, 'old') USING TIMESTAMP 1", {}, CL::kAll).ok());
  EXPECT_EQ(count(" AND day = 1"), 0u);
  auto bad = run("DELETE v FROM ledger WHERE acct = 'a' AND day = 1");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(storeErrorOf(bad.status()), StoreError::kInvalidQuery);
}

TEST_F(CqlTest, AReplicaThatMissedARangeDeleteIsRepairedByAReadAtAll) {
  ASSERT_TRUE(run("CREATE TABLE ledger (acct text, seq int, v text, PRIMARY KEY (acct, seq))").ok());
  for (int seq = 1; seq <= 5; ++seq) {
    ASSERT_TRUE(run("INSERT INTO ledger (acct, seq, v) VALUES ('a', ?, 'x')", {Value::integer(seq)}, CL::kAll).ok());
  }
  auto replicas = replicaIds("ledger", {Value::text("a")});
  ASSERT_EQ(replicas.size(), 3u);
  const int missed = replicas[2];
  // The range delete lands on two replicas while the third is isolated.
  ASSERT_TRUE(cluster_->setIsolated(NodeId(missed), true).ok());
  auto del = run("DELETE FROM ledger WHERE acct = 'a' AND seq >= 2 AND seq < 5", {}, CL::kQuorum, replicas[0]);
  ASSERT_TRUE(del.ok()) << del.status().toString();
  ASSERT_TRUE(cluster_->setIsolated(NodeId(missed), false).ok());
  ASSERT_EQ(rows("SELECT * FROM ledger WHERE acct = 'a'", {}, CL::kOne, missed).size(), 5u);  // still stale
  // A read at ALL sees the digests disagree and repairs the stale replica.
  EXPECT_EQ(rows("SELECT * FROM ledger WHERE acct = 'a'", {}, CL::kAll, replicas[0]).size(), 2u);
  EXPECT_EQ(rows("SELECT * FROM ledger WHERE acct = 'a'", {}, CL::kOne, missed).size(), 2u);
}

// What a walk through the pages of a SELECT saw: each page's size and the first column
// of every row, in the order the pages delivered them.
struct Paged {
  std::vector<size_t> page_sizes;
  std::vector<int64_t> values;
};

TEST_F(CqlTest, PagingWalksALargePartitionInClusteringOrderWithoutRepeatsOrGaps) {
  ASSERT_TRUE(run("CREATE TABLE events (acct text, seq int, v text, PRIMARY KEY (acct, seq))").ok());
  for (int i = 0; i < 25; ++i) {
    ASSERT_TRUE(run("INSERT INTO events (acct, seq, v) VALUES ('a', ?, 'x')", {Value::integer(i)}, CL::kQuorum).ok());
  }
  ASSERT_TRUE(run("INSERT INTO events (acct, seq, v) VALUES ('b', 1, 'other partition')", {}, CL::kQuorum).ok());
  auto walk = [&](const std::string& cql, int page_size) {
    Paged out;
    QueryOptions o;
    o.keyspace = "ks";
    o.ctx.consistency = CL::kQuorum;
    o.page_size = page_size;
    for (int guard = 0; guard < 100; ++guard) {
      auto r = session_->execute(cql, {}, o);
      EXPECT_TRUE(r.ok()) << r.status().toString();
      if (!r.ok()) break;
      out.page_sizes.push_back(r->rows.size());
      for (const auto& row : r->rows) out.values.push_back(row[0].i);
      if (r->paging_state.empty()) break;
      o.paging_state = r->paging_state;
    }
    return out;
  };
  std::vector<int64_t> all(25);
  for (int i = 0; i < 25; ++i) all[i] = i;

  Paged asc = walk("SELECT seq FROM events WHERE acct = 'a'", 10);
  EXPECT_EQ(asc.page_sizes, (std::vector<size_t>{10, 10, 5}));
  EXPECT_EQ(asc.values, all);

  Paged desc = walk("SELECT seq FROM events WHERE acct = 'a' ORDER BY seq DESC", 10);
  std::vector<int64_t> reversed(all.rbegin(), all.rend());
  EXPECT_EQ(desc.values, reversed);

  // LIMIT bounds the whole query, not each page.
  Paged limited = walk("SELECT seq FROM events WHERE acct = 'a' AND seq >= 3 LIMIT 12", 5);
  EXPECT_EQ(limited.page_sizes, (std::vector<size_t>{5, 5, 2}));
  EXPECT_EQ(limited.values.front(), 3);
  EXPECT_EQ(limited.values.back(), 14);

  // An exact multiple of the page size ends without an empty extra page.
  Paged exact = walk("SELECT seq FROM events WHERE acct = 'a' AND seq < 20", 10);
  EXPECT_EQ(exact.page_sizes, (std::vector<size_t>{10, 10}));
}

TEST_F(CqlTest, APagingStateFromAnotherPartitionOrGarbageIsRejected) {
  ASSERT_TRUE(run("CREATE TABLE events (acct text, seq int, PRIMARY KEY (acct, seq))").ok());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(run("INSERT INTO events (acct, seq) VALUES ('a', ?)", {Value::integer(i)}, CL::kAll).ok());
  }
  QueryOptions o;
  o.keyspace = "ks";
  o.page_size = 2;
  auto first = session_->execute("SELECT * FROM events WHERE acct = 'a'", {}, o);
  ASSERT_TRUE(first.ok());
  ASSERT_FALSE(first->paging_state.empty());
  o.paging_state = first->paging_state;
  auto other = session_->execute("SELECT * FROM events WHERE acct = 'b'", {}, o);
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(storeErrorOf(other.status()), StoreError::kInvalidQuery);
  o.paging_state = "garbage";
  auto garbage = session_->execute("SELECT * FROM events WHERE acct = 'a'", {}, o);
  ASSERT_FALSE(garbage.ok());
  EXPECT_NE(garbage.status().message().find("Invalid paging state"), std::string::npos);
}

}  // namespace
}  // namespace sandbank::store::testing
