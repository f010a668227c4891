// A blocking reflection client: one generic bidi call driven step by step on a private
// completion queue, so it needs no generated gRPC stub for the reflection service.
#include "reflection_client.h"

#include <google/protobuf/descriptor.pb.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <deque>
#include <set>

#include "reflection_wire.pb.h"

namespace sandbank::mesh {
namespace {

namespace wire = sandbank::mesh::reflection_wire;
constexpr char kMethod[] = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo";

// Waits for the single outstanding operation on `cq`.
bool await(grpc::CompletionQueue& cq) {
  void* tag = nullptr;
  bool ok = false;
  if (!cq.Next(&tag, &ok)) return false;
  return ok;
}

class ReflectionStream {
 public:
  explicit ReflectionStream(const std::string& address) : address_(address) {
    channel_ = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
    stub_ = std::make_unique<grpc::GenericStub>(channel_);
    ctx_.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    ctx_.set_wait_for_ready(false);
  }
  ~ReflectionStream() {
    if (call_) {  // close our side and let the server end the stream
      call_->WritesDone(this);
      await(cq_);
      grpc::Status status;
      call_->Finish(&status, this);
      await(cq_);
    }
    cq_.Shutdown();
    void* tag;
    bool ok;
    while (cq_.Next(&tag, &ok)) {
    }
  }

  Status start() {
    call_ = stub_->PrepareCall(&ctx_, kMethod, &cq_);
    call_->StartCall(this);
    if (!await(cq_)) return finishWithError();
    return OkStatus();
  }

  Result<wire::ServerReflectionResponse> ask(const wire::ServerReflectionRequest& request) {
    std::string bytes = request.SerializeAsString();
    grpc::Slice slice(bytes);
    grpc::ByteBuffer out(&slice, 1);
    call_->Write(out, this);
    if (!await(cq_)) return finishWithError();
    grpc::ByteBuffer in;
    call_->Read(&in, this);
    if (!await(cq_)) return finishWithError();
    std::vector<grpc::Slice> slices;
    std::string data;
    (void)in.Dump(&slices);
    for (const auto& s : slices) data.append(reinterpret_cast<const char*>(s.begin()), s.size());
    wire::ServerReflectionResponse response;
    if (!response.ParseFromString(data)) {
      return Internal("reflection on " + address_ + ": unreadable response");
    }
    return response;
  }

 private:
  // The stream broke: collect the status so the error says why.
  Status finishWithError() {
    grpc::Status status;
    call_->Finish(&status, this);
    await(cq_);
    call_.reset();
    std::string why = status.ok() ? "the stream closed" : status.error_message();
    if (status.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
      why = "the server does not enable gRPC server reflection";
    }
    return Unavailable("reflection on " + address_ + ": " + why);
  }

  std::string address_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<grpc::GenericStub> stub_;
  grpc::ClientContext ctx_;
  grpc::CompletionQueue cq_;
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call_;
};

}  // namespace

Result<std::vector<std::string>> fetchFilesByReflection(
    const std::string& address, const std::string& symbol,
    const std::function<bool(const std::string& file_name)>& have_file) {
  ReflectionStream stream(address);
  SANDBANK_RETURN_IF_ERROR(stream.start());

  std::vector<std::string> files;
  std::set<std::string> seen;
  std::deque<std::string> wanted_files;
  wire::ServerReflectionRequest request;
  request.set_file_containing_symbol(symbol);
  bool first = true;
  while (true) {
    SANDBANK_ASSIGN_OR_RETURN(wire::ServerReflectionResponse response, stream.ask(request));
    if (response.has_error_response()) {
      const std::string what = first ? "symbol '" + symbol + "'" : "file '" + request.file_by_filename() + "'";
      return NotFound("reflection on " + address + " does not know " + what + ": " +
                      response.error_response().error_message());
    }
    if (!response.has_file_descriptor_response()) {
      return Internal("reflection on " + address + ": unexpected response kind");
    }
    for (const auto& bytes : response.file_descriptor_response().file_descriptor_proto()) {
      google::protobuf::FileDescriptorProto file;
      if (!file.ParseFromString(bytes)) return Internal("reflection on " + address + ": unreadable descriptor");
      if (!seen.insert(file.name()).second) continue;
      files.push_back(bytes);
      for (const auto& dep : file.dependency()) wanted_files.push_back(dep);
    }
    first = false;
    while (!wanted_files.empty() && (seen.count(wanted_files.front()) || have_file(wanted_files.front()))) {
      wanted_files.pop_front();
    }
    if (wanted_files.empty()) break;
    request.set_file_by_filename(wanted_files.front());
    wanted_files.pop_front();
  }
  return files;
}

}  // namespace sandbank::mesh
