// StoreClient over the generated sandbank.store.Store stub. Reconnect backoff is kept
// short so a service notices a restarted simulator within ~100 ms.
// Thread-safety: the stub and channel are thread-safe; nothing else is mutable.
#include "sandbank/kit/store_client.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <cstdlib>

#include "sandbank/store.grpc.pb.h"

namespace sandbank::kit {
namespace {

namespace pb = ::sandbank::store;

bool consistencyFromName(const std::string& name, pb::Consistency* out) {
  static const std::pair<const char*, pb::Consistency> kNames[] = {
      {"", pb::CL_UNSET},        {"ANY", pb::CL_ANY},
      {"ONE", pb::CL_ONE},       {"TWO", pb::CL_TWO},
      {"THREE", pb::CL_THREE},   {"QUORUM", pb::CL_QUORUM},
      {"LOCAL_QUORUM", pb::CL_LOCAL_QUORUM}, {"EACH_QUORUM", pb::CL_EACH_QUORUM},
      {"ALL", pb::CL_ALL},       {"LOCAL_ONE", pb::CL_LOCAL_ONE},
      {"SERIAL", pb::CL_SERIAL}, {"LOCAL_SERIAL", pb::CL_LOCAL_SERIAL},
  };
  std::string upper = name;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (const auto& [n, v] : kNames) {
    if (upper == n) {
      *out = v;
      return true;
    }
  }
  return false;
}

void toProto(const StoreValue& v, pb::TypedValue* out) {
  switch (v.kind) {
    case StoreValue::Kind::kNull: break;
    case StoreValue::Kind::kText: out->set_text(v.s); break;
    case StoreValue::Kind::kInt: out->set_int_(v.i); break;
    case StoreValue::Kind::kBool: out->set_boolean(v.i != 0); break;
    case StoreValue::Kind::kBlob: out->set_blob(v.s); break;
    case StoreValue::Kind::kUuid: out->set_uuid(v.s); break;
    case StoreValue::Kind::kDecimal: out->set_decimal(v.s); break;
    case StoreValue::Kind::kTimestampMs: out->set_timestamp_ms(v.i); break;
  }
}

StoreValue fromProto(const pb::TypedValue& v) {
  switch (v.value_case()) {
    case pb::TypedValue::kText: return StoreValue::text(v.text());
    case pb::TypedValue::kInt: return StoreValue::integer(v.int_());
    case pb::TypedValue::kBoolean: return StoreValue::boolean(v.boolean());
    case pb::TypedValue::kBlob: return StoreValue::blob(v.blob());
    case pb::TypedValue::kUuid: return StoreValue::uuid(v.uuid());
    case pb::TypedValue::kDecimal: return StoreValue::decimal(v.decimal());
    case pb::TypedValue::kTimestampMs: return StoreValue::timestampMs(v.timestamp_ms());
    case pb::TypedValue::VALUE_NOT_SET: break;
  }
  return StoreValue::null();
}

Status fromGrpc(const grpc::Status& s, const std::string& address) {
  if (s.ok()) return OkStatus();
  std::string msg = s.error_message();
  if (s.error_code() == grpc::StatusCode::UNAVAILABLE && msg.rfind("Unavailable:", 0) != 0) {
    msg = "store at " + address + " unreachable: " + msg;  // transport failure, not a Cassandra Unavailable
  }
  return Status(static_cast<StatusCode>(s.error_code()), msg);
}

StoreRows rowsOf(const pb::ExecuteResponse& resp) {
  StoreRows rows;
  for (const auto& c : resp.columns()) {
    rows.columns.push_back(c.name());
    rows.column_types.push_back(c.type());
  }
  rows.rows.reserve(resp.rows_size());
  for (const auto& r : resp.rows()) {
    std::vector<StoreValue> row;
    row.reserve(r.values_size());
    for (const auto& v : r.values()) row.push_back(fromProto(v));
    rows.rows.push_back(std::move(row));
  }
  if (resp.has_applied()) rows.applied = resp.applied();
  return rows;
}

}  // namespace

struct StoreClient::Channel {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<pb::Store::Stub> stub;
  // executeAsync calls still running; the destructor waits for them (each has a deadline).
  std::mutex mu;
  std::condition_variable idle;
  int in_flight = 0;
};

int StoreRows::column(const std::string& name) const {
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i] == name) return static_cast<int>(i);
  }
  return -1;
}

const StoreValue& StoreRows::cell(size_t row, std::string_view name) const {
  static const StoreValue kNull;
  int i = -1;
  for (size_t c = 0; c < columns.size(); ++c)
    if (columns[c] == name) i = static_cast<int>(c);
  if (i < 0 || row >= rows.size() || static_cast<size_t>(i) >= rows[row].size()) return kNull;
  return rows[row][static_cast<size_t>(i)];
}

Result<std::unique_ptr<StoreClient>> StoreClient::connect(const std::string& address, std::string client_id) {
  std::string target = address;
  if (target.empty()) {
    const char* env = std::getenv("SANDBANK_STORE");
    if (env == nullptr || *env == '\0') {
      return FailedPrecondition("no store address: set SANDBANK_STORE (host:port) or pass one to StoreClient::connect");
    }
    target = env;
  }
  if (client_id.empty()) {
    const char* inst = std::getenv("SANDBANK_INSTANCE");
    client_id = inst ? inst : "";
  }
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  auto ch = std::make_unique<Channel>();
  ch->channel = grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
  ch->stub = pb::Store::NewStub(ch->channel);
  return std::unique_ptr<StoreClient>(new StoreClient(target, std::move(client_id), std::move(ch)));
}

StoreClient::StoreClient(std::string address, std::string client_id, std::unique_ptr<Channel> channel)
    : address_(std::move(address)), client_id_(std::move(client_id)), channel_(std::move(channel)) {}

StoreClient::~StoreClient() { drain(); }

void StoreClient::drain() {
  std::unique_lock lock(channel_->mu);
  channel_->idle.wait(lock, [this] { return channel_->in_flight == 0; });
}

namespace {
// The request for one statement; the Status says why it cannot be built.
Status buildRequest(const std::string& cql, const std::string& prepared_id, const std::vector<StoreValue>& values,
                    const StoreCall& call, const std::string& client_id, pb::ExecuteRequest* out) {
  pb::ExecuteRequest& req = *out;
  if (prepared_id.empty()) req.set_cql(cql);
  else req.set_prepared_id(prepared_id);
  pb::Consistency cl, serial;
  if (!consistencyFromName(call.consistency, &cl)) return InvalidArgument("unknown consistency level '" + call.consistency + "'");
  if (!consistencyFromName(call.serial_consistency, &serial)) {
    return InvalidArgument("unknown serial consistency level '" + call.serial_consistency + "'");
  }
  req.set_consistency(cl);
  req.set_serial_consistency(serial);
  req.set_keyspace(call.keyspace);
  if (call.timestamp_us) req.set_timestamp_us(*call.timestamp_us);
  req.set_client_id(client_id);
  req.set_coordinator(call.coordinator);
  for (const StoreValue& v : values) toProto(v, req.add_values());
  return OkStatus();
}
}  // namespace

namespace {

StoreStatement statementOf(const std::string& cql, const pb::PrepareResponse& resp) {
  StoreStatement st;
  st.id = resp.prepared_id();
  st.cql = cql;
  for (const auto& b : resp.binds()) {
    st.bind_names.push_back(b.name());
    st.bind_types.push_back(b.type());
  }
  return st;
}

// Sends one unary call per request, all at once, and waits for every answer: start-up
// work whose calls do not depend on each other (a keyspace's tables, its statements)
// then costs about one round trip instead of one per statement. `start(ctx, req, resp,
// done)` begins one call on gRPC's callback API.
template <typename Req, typename Resp, typename Start>
std::vector<grpc::Status> allAtOnce(const std::vector<Req>& reqs, std::vector<Resp>* resps, Start start) {
  const size_t n = reqs.size();
  resps->assign(n, Resp{});
  std::vector<grpc::Status> out(n);
  std::vector<std::unique_ptr<grpc::ClientContext>> ctxs;
  std::mutex mu;
  std::condition_variable cv;
  size_t left = n;
  for (size_t i = 0; i < n; ++i) {
    ctxs.push_back(std::make_unique<grpc::ClientContext>());
    ctxs.back()->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    start(ctxs.back().get(), &reqs[i], &(*resps)[i], [&, i](grpc::Status s) {
      std::lock_guard lock(mu);
      out[i] = std::move(s);
      if (--left == 0) cv.notify_all();  // under the lock: the waiter cannot return (and free cv) before this ends
    });
  }
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return left == 0; });
  return out;
}

}  // namespace

Result<StoreStatement> StoreClient::prepare(const std::string& cql, const std::string& keyspace) {
  pb::PrepareRequest req;
  req.set_cql(cql);
  req.set_keyspace(keyspace);
  pb::PrepareResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::Status s = channel_->stub->Prepare(&ctx, req, &resp);
  if (!s.ok()) return fromGrpc(s, address_);
  return statementOf(cql, resp);
}

Status StoreClient::prepareAll(std::span<const std::pair<StoreStatement*, const char*>> statements,
                               const std::string& keyspace) {
  std::vector<pb::PrepareRequest> reqs(statements.size());
  for (size_t i = 0; i < statements.size(); ++i) {
    reqs[i].set_cql(statements[i].second);
    reqs[i].set_keyspace(keyspace);
  }
  std::vector<pb::PrepareResponse> resps;
  pb::Store::Stub* stub = channel_->stub.get();
  const std::vector<grpc::Status> got =
      allAtOnce(reqs, &resps, [stub](grpc::ClientContext* ctx, const pb::PrepareRequest* req,
                                     pb::PrepareResponse* resp, std::function<void(grpc::Status)> done) {
        stub->async()->Prepare(ctx, req, resp, std::move(done));
      });
  for (size_t i = 0; i < statements.size(); ++i) {  // the first failure in the caller's order
    if (!got[i].ok()) return fromGrpc(got[i], address_).withContext(statements[i].second);
  }
  for (size_t i = 0; i < statements.size(); ++i) *statements[i].first = statementOf(statements[i].second, resps[i]);
  return OkStatus();
}

Status StoreClient::createSchema(const std::string& keyspace, int replication_factor,
                                 std::span<const std::string_view> tables) {
  auto ks = execute("CREATE KEYSPACE IF NOT EXISTS " + keyspace +
                    " WITH replication = {'class': 'SimpleStrategy', 'replication_factor': " +
                    std::to_string(replication_factor) + "}");
  if (!ks.ok()) return ks.status().withContext("creating keyspace " + keyspace);
  std::vector<pb::ExecuteRequest> reqs(tables.size());
  for (size_t i = 0; i < tables.size(); ++i) {
    SANDBANK_RETURN_IF_ERROR(buildRequest(std::string(tables[i]), "", {}, StoreCall{}, client_id_, &reqs[i]));
  }
  std::vector<pb::ExecuteResponse> resps;
  pb::Store::Stub* stub = channel_->stub.get();
  const std::vector<grpc::Status> got =
      allAtOnce(reqs, &resps, [stub](grpc::ClientContext* ctx, const pb::ExecuteRequest* req,
                                     pb::ExecuteResponse* resp, std::function<void(grpc::Status)> done) {
        stub->async()->Execute(ctx, req, resp, std::move(done));
      });
  for (size_t i = 0; i < tables.size(); ++i) {
    if (!got[i].ok()) return fromGrpc(got[i], address_).withContext(std::string(tables[i].substr(0, 60)));
  }
  return OkStatus();
}

Result<StoreRows> StoreClient::execute(const StoreStatement& statement, const std::vector<StoreValue>& values,
                                       const StoreCall& call) {
  if (!statement.bind_names.empty() && values.size() != statement.bind_names.size()) {
    return InvalidArgument("statement '" + statement.cql + "' takes " + std::to_string(statement.bind_names.size()) +
                           " values, got " + std::to_string(values.size()));
  }
  return run("", statement.id, values, call);
}

Result<StoreRows> StoreClient::execute(const std::string& cql, const std::vector<StoreValue>& values,
                                       const StoreCall& call) {
  return run(cql, "", values, call);
}


Result<StoreRows> StoreClient::run(const std::string& cql, const std::string& prepared_id,
                                   const std::vector<StoreValue>& values, const StoreCall& call) {
  pb::ExecuteRequest req;
  SANDBANK_RETURN_IF_ERROR(buildRequest(cql, prepared_id, values, call, client_id_, &req));
  pb::ExecuteResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(call.timeout_ms));
  grpc::Status s = channel_->stub->Execute(&ctx, req, &resp);
  if (!s.ok()) return fromGrpc(s, address_);
  return rowsOf(resp);
}

void StoreClient::executeAsync(const StoreStatement& statement, const std::vector<StoreValue>& values,
                               const StoreCall& call, std::function<void(Result<StoreRows>)> done) {
  if (!statement.bind_names.empty() && values.size() != statement.bind_names.size()) {
    done(InvalidArgument("statement '" + statement.cql + "' takes " + std::to_string(statement.bind_names.size()) +
                         " values, got " + std::to_string(values.size())));
    return;
  }
  // One heap block owns the request, the reply and the context until gRPC calls back.
  struct Pending {
    pb::ExecuteRequest req;
    pb::ExecuteResponse resp;
    grpc::ClientContext ctx;
    std::function<void(Result<StoreRows>)> done;
  };
  auto p = std::make_shared<Pending>();
  if (Status s = buildRequest("", statement.id, values, call, client_id_, &p->req); !s.ok()) {
    done(s);
    return;
  }
  p->done = std::move(done);
  p->ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(call.timeout_ms));
  {
    std::lock_guard lock(channel_->mu);
    ++channel_->in_flight;
  }
  Channel* ch = channel_.get();
  ch->stub->async()->Execute(&p->ctx, &p->req, &p->resp, [p, ch, address = address_](grpc::Status s) {
    if (!s.ok()) p->done(fromGrpc(s, address));
    else p->done(rowsOf(p->resp));
    std::lock_guard lock(ch->mu);
    if (--ch->in_flight == 0) ch->idle.notify_all();
  });
}

}  // namespace sandbank::kit
