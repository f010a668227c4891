// PayloadDecoder: a SimpleDescriptorDatabase (the descriptor set plus files fetched by
// reflection) under a lazily built DescriptorPool, and DynamicMessage for parsing. One
// mutex guards the database, the pool and the caches; reflection fetches run outside it.
#include "sandbank/mesh/payload_decoder.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/descriptor_database.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/util/json_util.h>

#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <unordered_map>

#include "reflection_client.h"
#include "sandbank/mesh/service_directory.h"

namespace sandbank::mesh {
namespace {

namespace pb = google::protobuf;

// "/pkg.Svc/Method" or "pkg.Svc/Method" -> {"pkg.Svc", "pkg.Svc.Method"}.
Result<std::pair<std::string, std::string>> splitMethod(std::string_view method) {
  if (!method.empty() && method.front() == '/') method.remove_prefix(1);
  auto slash = method.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == method.size()) {
    return InvalidArgument("'" + std::string(method) + "' is not a gRPC method (pkg.Service/Method)");
  }
  std::string service(method.substr(0, slash));
  return std::make_pair(service, service + "." + std::string(method.substr(slash + 1)));
}

}  // namespace

class PayloadDecoder::Impl {
 public:
  Impl() : pool_(&db_), factory_(&pool_) {}

  // Adds serialized FileDescriptorProtos. Files already present are skipped.
  Status addFiles(const std::vector<std::string>& serialized) {
    std::lock_guard lock(mu_);
    std::vector<std::string> added;
    for (const auto& bytes : serialized) {
      pb::FileDescriptorProto file;
      if (!file.ParseFromString(bytes)) return InvalidArgument("unreadable FileDescriptorProto");
      if (files_.count(file.name())) continue;
      if (!db_.Add(file)) return InvalidArgument("descriptor file '" + file.name() + "' conflicts with one already loaded");
      files_.insert(file.name());
      added.push_back(file.name());
    }
    for (const auto& name : added) {
      if (!pool_.FindFileByName(name)) {
        return InvalidArgument("descriptor file '" + name + "' does not link (missing dependency?)");
      }
    }
    return OkStatus();
  }

  bool haveFile(const std::string& name) const {
    std::lock_guard lock(mu_);
    return files_.count(name) > 0;
  }

  // Types and streaming kinds of `method`, from loaded descriptors only.
  Result<MethodShape> methodShape(std::string_view method) const {
    SANDBANK_ASSIGN_OR_RETURN(auto names, splitMethod(method));
    std::lock_guard lock(mu_);
    if (auto it = shapes_.find(names.second); it != shapes_.end()) return it->second;
    pb::FileDescriptorProto unused;
    // Ask the database first: the pool remembers symbols it failed to find, and those
    // might arrive later by reflection.
    const pb::MethodDescriptor* m = nullptr;
    if (db_.FindFileContainingSymbol(names.second, &unused)) m = pool_.FindMethodByName(names.second);
    if (!m) return NotFound("no descriptor for method '" + names.second + "'");
    MethodShape shape{m->input_type()->full_name(), m->output_type()->full_name(), m->client_streaming(),
                      m->server_streaming()};
    shapes_.emplace(names.second, shape);
    return shape;
  }

  Result<std::string> toJson(const std::string& type, std::string_view bytes) const {
    std::lock_guard lock(mu_);
    pb::FileDescriptorProto unused;
    const pb::Descriptor* d = nullptr;
    if (db_.FindFileContainingSymbol(type, &unused)) d = pool_.FindMessageTypeByName(type);
    if (!d) return NotFound("no descriptor for message type '" + type + "'");
    std::unique_ptr<pb::Message> msg(factory_.GetPrototype(d)->New());
    if (!msg->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
      return InvalidArgument("payload is not a valid " + type + " (" + std::to_string(bytes.size()) + " bytes)");
    }
    pb::util::JsonPrintOptions options;
    options.preserve_proto_field_names = true;
    std::string out;
    auto status = pb::util::MessageToJsonString(*msg, &out, options);
    if (!status.ok()) return Internal("cannot print " + type + " as JSON: " + std::string(status.message()));
    return out;
  }

  bool knowsSymbol(const std::string& symbol) const {
    std::lock_guard lock(mu_);
    pb::FileDescriptorProto unused;
    return db_.FindFileContainingSymbol(symbol, &unused);
  }

  Result<std::string> addressOf(std::string_view service) const {
    const ServiceDirectory* dir = directory_.load();
    if (!dir) return NotFound("no service directory to find '" + std::string(service) + "' for reflection");
    SANDBANK_ASSIGN_OR_RETURN(auto endpoints, dir->endpoints(service));
    for (const auto& e : endpoints) {
      if (e.healthy) return e.address;
    }
    return Unavailable("service '" + std::string(service) + "' has no healthy endpoint to ask by reflection");
  }

  // Makes `symbol` known, asking `service` by reflection when needed.
  Status ensureSymbol(const std::string& symbol, std::string_view service, PayloadDecoder& self) {
    if (knowsSymbol(symbol)) return OkStatus();
    if (service.empty()) return NotFound("no descriptor for '" + symbol + "'");
    SANDBANK_ASSIGN_OR_RETURN(std::string address, addressOf(service));
    return self.loadFromReflection(address, symbol);
  }

  std::atomic<const ServiceDirectory*> directory_{nullptr};

 private:
  mutable std::mutex mu_;
  mutable pb::SimpleDescriptorDatabase db_;  // guarded by mu_
  mutable pb::DescriptorPool pool_;  // guarded by mu_; builds lazily from db_
  mutable pb::DynamicMessageFactory factory_;  // guarded by mu_
  std::set<std::string> files_;      // guarded by mu_: names in db_
  mutable std::unordered_map<std::string, MethodShape> shapes_;  // guarded by mu_
};

PayloadDecoder::PayloadDecoder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PayloadDecoder::~PayloadDecoder() = default;

Result<std::unique_ptr<PayloadDecoder>> PayloadDecoder::fromDescriptorSetFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot open descriptor set '" + path + "' (is the project built?)");
  std::stringstream buffer;
  buffer << in.rdbuf();
  pb::FileDescriptorSet set;
  if (!set.ParseFromString(buffer.str())) {
    return InvalidArgument("'" + path + "' is not a serialized FileDescriptorSet");
  }
  std::vector<std::string> files;
  files.reserve(set.file_size());
  for (const auto& f : set.file()) files.push_back(f.SerializeAsString());
  auto impl = std::make_unique<Impl>();
  Status st = impl->addFiles(files);
  if (!st.ok()) return st.withContext(path);
  return std::unique_ptr<PayloadDecoder>(new PayloadDecoder(std::move(impl)));
}

std::unique_ptr<PayloadDecoder> PayloadDecoder::empty() {
  return std::unique_ptr<PayloadDecoder>(new PayloadDecoder(std::make_unique<Impl>()));
}

void PayloadDecoder::setDirectory(const ServiceDirectory* directory) { impl_->directory_.store(directory); }

Result<MethodShape> PayloadDecoder::methodShape(std::string_view method) const {
  return impl_->methodShape(method);
}

Result<std::string> PayloadDecoder::requestTypeOf(std::string_view method) const {
  SANDBANK_ASSIGN_OR_RETURN(MethodShape shape, impl_->methodShape(method));
  return shape.request_type;
}

Result<std::string> PayloadDecoder::responseTypeOf(std::string_view method) const {
  SANDBANK_ASSIGN_OR_RETURN(MethodShape shape, impl_->methodShape(method));
  return shape.response_type;
}

Result<std::string> PayloadDecoder::messageToJson(std::string_view type, std::string_view bytes,
                                                  std::string_view service) {
  std::string name(type);
  SANDBANK_RETURN_IF_ERROR(impl_->ensureSymbol(name, service, *this));
  return impl_->toJson(name, bytes);
}

Result<std::string> PayloadDecoder::requestToJson(std::string_view method, std::string_view bytes,
                                                  std::string_view service) {
  SANDBANK_ASSIGN_OR_RETURN(auto names, splitMethod(method));
  SANDBANK_RETURN_IF_ERROR(impl_->ensureSymbol(names.second, service, *this));
  SANDBANK_ASSIGN_OR_RETURN(std::string type, requestTypeOf(method));
  return impl_->toJson(type, bytes);
}

Result<std::string> PayloadDecoder::responseToJson(std::string_view method, std::string_view bytes,
                                                   std::string_view service) {
  SANDBANK_ASSIGN_OR_RETURN(auto names, splitMethod(method));
  SANDBANK_RETURN_IF_ERROR(impl_->ensureSymbol(names.second, service, *this));
  SANDBANK_ASSIGN_OR_RETURN(std::string type, responseTypeOf(method));
  return impl_->toJson(type, bytes);
}

Result<std::string> PayloadDecoder::eventPayloadToJson(const flow::FlowEvent& event) {
  if (!event.payload_type.empty()) return messageToJson(event.payload_type, event.payload, event.destination);
  if (event.method.empty()) return NotFound("the event names neither a payload type nor a method");
  return requestToJson(event.method, event.payload, event.destination);
}

Status PayloadDecoder::loadFromReflection(const std::string& address, const std::string& symbol) {
  SANDBANK_ASSIGN_OR_RETURN(
      std::vector<std::string> files,
      fetchFilesByReflection(address, symbol, [this](const std::string& f) { return impl_->haveFile(f); }));
  return impl_->addFiles(files);
}

}  // namespace sandbank::mesh
