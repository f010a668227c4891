// The store over gRPC on 127.0.0.1:0: the kit client's prepared statements and typed
// values, Cassandra error names surviving the wire, and the admin/inspection calls.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <cstdint>

#include "sandbank/core/clock.h"
#include "sandbank/kit/store_client.h"
#include "sandbank/store.grpc.pb.h"
#include "sandbank/store/cluster.h"
#include "sandbank/store/store_service.h"

namespace sandbank::store {
namespace {

using kit::StoreCall;
using kit::StoreValue;

class StoreGrpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = std::make_unique<Cluster>(ClusterOptions{}, clock_);
    service_ = makeStoreGrpcService(*cluster_);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port, 0);
    address_ = "127.0.0.1:" + std::to_string(port);
    auto c = kit::StoreClient::connect(address_, "test-client");
    ASSERT_TRUE(c.ok()) << c.status().toString();
    client_ = std::move(c).value();
    stub_ = ::sandbank::store::Store::NewStub(grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()));
    ASSERT_TRUE(client_->execute("CREATE KEYSPACE bank WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}").ok());
    ASSERT_TRUE(client_->execute("CREATE TABLE bank.balances (account text PRIMARY KEY, pence bigint, opened timestamp)").ok());
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
  }


  ManualClock clock_;
  std::unique_ptr<Cluster> cluster_;
  std::unique_ptr<grpc::Service> service_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
  std::unique_ptr<kit::StoreClient> client_;
  std::unique_ptr<::sandbank::store::Store::Stub> stub_;
};

TEST_F(StoreGrpcTest, PreparedStatementsRoundTripTypedValuesAtAChosenConsistency) {
  auto ins = client_->prepare("INSERT INTO balances (account, pence, opened) VALUES (?, ?, ?)", "bank");
  ASSERT_TRUE(ins.ok()) << ins.status().toString();
  EXPECT_EQ(ins->bind_names, (std::vector<std::string>{"account", "pence", "opened"}));
  EXPECT_EQ(ins->bind_types, (std::vector<std::string>{"text", "bigint", "timestamp"}));
  StoreCall quorum;
  quorum.consistency = "QUORUM";
  ASSERT_TRUE(client_->execute(*ins, {StoreValue::text("acc-1"), StoreValue::integer(1250), StoreValue::timestampMs(1700000000000)}, quorum).ok());
  auto sel = client_->prepare("SELECT pence, opened FROM balances WHERE account = ?", "bank");
  ASSERT_TRUE(sel.ok());
  auto rows = client_->execute(*sel, {StoreValue::text("acc-1")}, quorum);
  ASSERT_TRUE(rows.ok()) << rows.status().toString();
  ASSERT_EQ(rows->rows.size(), 1u);
  EXPECT_EQ(rows->rows[0][rows->column("pence")], StoreValue::integer(1250));
  EXPECT_EQ(rows->rows[0][rows->column("opened")], StoreValue::timestampMs(1700000000000));
  // Wrong number of values is caught before the call.
  EXPECT_EQ(client_->execute(*sel, {}, quorum).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(StoreGrpcTest, ServiceStartUpCreatesASchemaAndPreparesItsStatementsTogether) {
  constexpr std::string_view tables[] = {
      "CREATE TABLE IF NOT EXISTS shop.orders (order_id text PRIMARY KEY, pence bigint)",
      "CREATE TABLE IF NOT EXISTS shop.lines (order_id text, line int, sku text, PRIMARY KEY (order_id, line))",
      "CREATE TABLE IF NOT EXISTS shop.skus (sku text PRIMARY KEY, name text)",
  };
  ASSERT_TRUE(client_->createSchema("shop", 3, tables).ok());
  ASSERT_TRUE(client_->createSchema("shop", 3, tables).ok()) << "IF NOT EXISTS: a restart creates nothing twice";
  kit::StoreStatement insert_line, read_lines, read_sku;
  const std::pair<kit::StoreStatement*, const char*> all[] = {
      {&insert_line, "INSERT INTO lines (order_id, line, sku) VALUES (?, ?, ?)"},
      {&read_lines, "SELECT line, sku FROM lines WHERE order_id = ?"},
      {&read_sku, "SELECT name FROM skus WHERE sku = ?"},
  };
  ASSERT_TRUE(client_->prepareAll(all, "shop").ok());
  // Each statement got its own answer, not a neighbour's.
  EXPECT_EQ(insert_line.bind_names, (std::vector<std::string>{"order_id", "line", "sku"}));
  EXPECT_EQ(read_lines.bind_names, (std::vector<std::string>{"order_id"}));
  EXPECT_EQ(read_sku.cql, "SELECT name FROM skus WHERE sku = ?");
  ASSERT_TRUE(client_->execute(insert_line, {StoreValue::text("o1"), StoreValue::integer(2), StoreValue::text("tea")})
                  .ok());
  auto rows = client_->execute(read_lines, {StoreValue::text("o1")});
  ASSERT_TRUE(rows.ok()) << rows.status().toString();
  ASSERT_EQ(rows->rows.size(), 1u);
  EXPECT_EQ(rows->cell(0, "sku").s, "tea");

  // The first failing statement, in the caller's order, is named.
  kit::StoreStatement ok_one, bad_one, bad_two;
  const std::pair<kit::StoreStatement*, const char*> broken[] = {
      {&ok_one, "SELECT name FROM skus WHERE sku = ?"},
      {&bad_one, "SELECT nope FROM skus WHERE sku = ?"},
      {&bad_two, "SELECT * FROM missing_table"},
  };
  Status prepared = client_->prepareAll(broken, "shop");
  EXPECT_FALSE(prepared.ok());
  EXPECT_NE(prepared.message().find("SELECT nope FROM skus"), std::string::npos) << prepared.toString();
  constexpr std::string_view bad_tables[] = {
      "CREATE TABLE IF NOT EXISTS shop.fine (k text PRIMARY KEY)",
      "CREATE TABLE IF NOT EXISTS shop.keyless (k text)",
  };
  Status created = client_->createSchema("shop", 3, bad_tables);
  EXPECT_FALSE(created.ok());
  EXPECT_NE(created.message().find("shop.keyless"), std::string::npos) << created.toString();
}

TEST_F(StoreGrpcTest, CassandraErrorNamesAndCodesSurviveTheWire) {
  ASSERT_TRUE(cluster_->nodeDown(NodeId(2)).ok());
  ASSERT_TRUE(cluster_->nodeDown(NodeId(3)).ok());
  StoreCall all;
  all.consistency = "ALL";
  all.keyspace = "bank";
  all.coordinator = 1;
  auto r = client_->execute("INSERT INTO balances (account, pence) VALUES ('a', 1)", {}, all);
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(r.status().message().rfind("Unavailable:", 0), 0u) << r.status().message();
  auto syntax = client_->execute("SELEC * FROM balances", {}, all);
  EXPECT_EQ(syntax.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(syntax.status().message().find("SyntaxError: line 1:1"), std::string::npos);
  StoreCall bad;
  bad.consistency = "MOST";
  EXPECT_EQ(client_->execute("SELECT * FROM bank.balances WHERE account = 'a'", {}, bad).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(StoreGrpcTest, AdminAndInspectionShowDivergentReplicasAndHints) {
  grpc::ClientContext c1;
  ::sandbank::store::NodeRequest down;
  down.set_node(3);
  ::sandbank::store::Empty empty;
  ASSERT_TRUE(stub_->NodeDown(&c1, down, &empty).ok());
  StoreCall quorum;
  quorum.consistency = "QUORUM";
  quorum.keyspace = "bank";
  quorum.coordinator = 1;
  ASSERT_TRUE(client_->execute("INSERT INTO balances (account, pence) VALUES ('a', 7)", {}, quorum).ok());

  grpc::ClientContext c2;
  ::sandbank::store::HintsResponse hints;
  ASSERT_TRUE(stub_->ListHints(&c2, empty, &hints).ok());
  ASSERT_EQ(hints.hints_size(), 1);
  EXPECT_EQ(hints.hints(0).target(), 3);
  EXPECT_EQ(hints.hints(0).key(0).text(), "a");

  grpc::ClientContext c3;
  ::sandbank::store::PartitionRequest preq;
  preq.set_keyspace("bank");
  preq.set_table("balances");
  preq.add_key()->set_text("a");
  ::sandbank::store::PartitionResponse part;
  ASSERT_TRUE(stub_->GetPartition(&c3, preq, &part).ok());
  ASSERT_EQ(part.replicas_size(), 3);
  int with_data = 0;
  for (const auto& rp : part.replicas()) {
    if (rp.rows_size() == 0) {
      EXPECT_EQ(rp.node(), 3);
      EXPECT_FALSE(rp.up());
      continue;
    }
    ++with_data;
    ASSERT_EQ(rp.rows(0).cells_size(), 1);
    EXPECT_EQ(rp.rows(0).cells(0).column(), "pence");
    EXPECT_EQ(rp.rows(0).cells(0).value().int_(), 7);
    EXPECT_GT(rp.rows(0).cells(0).write_time_us(), 0);
  }
  EXPECT_EQ(with_data, 2);

  grpc::ClientContext c4;
  ::sandbank::store::NodeStatsResponse stats;
  ASSERT_TRUE(stub_->GetNodeStats(&c4, empty, &stats).ok());
  ASSERT_EQ(stats.nodes_size(), 3);
  EXPECT_FALSE(stats.nodes(2).up());
  EXPECT_EQ(stats.nodes(0).hints_stored(), 1);

  grpc::ClientContext c5;
  ::sandbank::store::SlowRequest slow;
  slow.set_node(1);
  slow.set_added_latency_ms(-5);
  auto st = stub_->SetSlow(&c5, slow, &empty);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  grpc::ClientContext c6;
  ::sandbank::store::NodeRequest nobody;
  nobody.set_node(42);
  EXPECT_EQ(stub_->NodeUp(&c6, nobody, &empty).error_code(), grpc::StatusCode::NOT_FOUND);
}

// Bad input for fuzz/store_grpc: a latency or skew in milliseconds near INT64_MAX overflowed
// when it became nanoseconds (undefined behaviour) instead of being refused.
TEST_F(StoreGrpcTest, LatencyAndSkewBeyondTenYearsAreRefusedWithTheFieldNamed) {
  ::sandbank::store::Empty empty;
  SlowRequest slow;
  slow.set_node(1);
  slow.set_added_latency_ms(INT64_MAX);
  grpc::ClientContext c1;
  grpc::Status s = stub_->SetSlow(&c1, slow, &empty);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("added_latency_ms"), std::string::npos) << s.error_message();

  ClientSkewRequest skew;
  skew.set_client_id("test-client");
  skew.set_skew_ms(INT64_MIN);
  grpc::ClientContext c2;
  s = stub_->SetClientSkew(&c2, skew, &empty);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("skew_ms"), std::string::npos) << s.error_message();

  // Realistic values still go through.
  skew.set_skew_ms(-60'000);
  grpc::ClientContext c3;
  EXPECT_TRUE(stub_->SetClientSkew(&c3, skew, &empty).ok());
  slow.set_added_latency_ms(250);
  grpc::ClientContext c4;
  EXPECT_TRUE(stub_->SetSlow(&c4, slow, &empty).ok());
}

TEST_F(StoreGrpcTest, ExecutePagesThroughALargePartition) {
  ASSERT_TRUE(client_->execute("CREATE TABLE bank.entries (account text, seq int, PRIMARY KEY (account, seq))").ok());
  for (int i = 0; i < 7; ++i) {
    ASSERT_TRUE(client_->execute("INSERT INTO bank.entries (account, seq) VALUES ('a', " + std::to_string(i) + ")").ok());
  }
  ::sandbank::store::ExecuteRequest req;
  req.set_cql("SELECT seq FROM bank.entries WHERE account = 'a'");
  req.set_page_size(3);
  std::vector<int64_t> seen;
  std::vector<int> sizes;
  for (int guard = 0; guard < 10; ++guard) {
    grpc::ClientContext ctx;
    ::sandbank::store::ExecuteResponse resp;
    auto st = stub_->Execute(&ctx, req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    sizes.push_back(resp.rows_size());
    for (const auto& row : resp.rows()) seen.push_back(row.values(0).int_());
    if (resp.paging_state().empty()) break;
    req.set_paging_state(resp.paging_state());
  }
  EXPECT_EQ(sizes, (std::vector<int>{3, 3, 1}));
  EXPECT_EQ(seen, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6}));

  grpc::ClientContext bad_ctx;
  ::sandbank::store::ExecuteResponse bad_resp;
  req.set_page_size(-1);
  EXPECT_EQ(stub_->Execute(&bad_ctx, req, &bad_resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

}  // namespace
}  // namespace sandbank::store
