// Fuzzes JSON <-> protobuf conversion over the build's descriptor set (bin/sandbank.desc):
// JSON bodies become messages the way the scenario runner sends them, and payload bytes
// become JSON through the mesh's PayloadDecoder, the way the flow view shows them.
// Input: "<message type or /pkg.Service/Method>\n<body>". Thread-safety: one thread.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "sandbank/mesh/payload_decoder.h"

namespace {

namespace pb = google::protobuf;
using sandbank::fuzz::requireReason;

const char* kDescriptorSet = SANDBANK_BIN_DIR "/sandbank.desc";

// The pool JSON is parsed against (as sim/scenario's simulator link builds it) and the
// mesh's decoder, both from the same descriptor set. Built once per process.
struct Fixture {
  pb::DescriptorPool pool;
  std::unique_ptr<pb::DynamicMessageFactory> factory;
  std::vector<std::string> types;    // every message type, sorted
  std::vector<std::string> methods;  // every "/pkg.Service/Method", sorted
  std::unique_ptr<sandbank::mesh::PayloadDecoder> decoder;

  Fixture() {
    // protobuf logs every string field with bad UTF-8 it parses; silence it for speed.
    pb::SetLogHandler(nullptr);
    std::ifstream in(kDescriptorSet, std::ios::binary);
    std::stringstream buf;
    buf << in.rdbuf();
    pb::FileDescriptorSet set;
    if (!in || !set.ParseFromString(buf.str())) {
      std::fprintf(stderr, "cannot read %s: build sandbank_descriptor_set first\n", kDescriptorSet);
      std::abort();
    }
    for (const auto& f : set.file()) {
      const pb::FileDescriptor* fd = pool.BuildFile(f);
      if (fd == nullptr) std::abort();
      std::function<void(const pb::Descriptor*)> add = [&](const pb::Descriptor* d) {
        if (!d->options().map_entry()) types.push_back(d->full_name());
        for (int i = 0; i < d->nested_type_count(); ++i) add(d->nested_type(i));
      };
      for (int i = 0; i < fd->message_type_count(); ++i) add(fd->message_type(i));
      for (int i = 0; i < fd->service_count(); ++i) {
        const pb::ServiceDescriptor* s = fd->service(i);
        for (int j = 0; j < s->method_count(); ++j) methods.push_back("/" + s->full_name() + "/" + s->method(j)->name());
      }
    }
    std::sort(types.begin(), types.end());
    std::sort(methods.begin(), methods.end());
    factory = std::make_unique<pb::DynamicMessageFactory>(&pool);
    auto d = sandbank::mesh::PayloadDecoder::fromDescriptorSetFile(kDescriptorSet);
    if (!d.ok()) {
      std::fprintf(stderr, "%s\n", d.status().toString().c_str());
      std::abort();
    }
    decoder = std::move(*d);
  }
};

Fixture& fixture() {
  static Fixture* f = new Fixture();  // lives for the process; never destroyed
  return *f;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Fixture& fx = fixture();
  const std::string input(reinterpret_cast<const char*>(data), size);
  const size_t nl = input.find('\n');
  std::string head = input.substr(0, nl);
  const std::string body = nl == std::string::npos ? std::string() : input.substr(nl + 1);

  // A method: decode the body as its request and its response, as the mesh does for a call.
  if (!head.empty() && head.front() == '/') {
    auto req = fx.decoder->requestToJson(head, body);
    requireReason(req.ok(), req.ok() ? "" : req.status().message(), "requestToJson");
    auto resp = fx.decoder->responseToJson(head, body);
    requireReason(resp.ok(), resp.ok() ? "" : resp.status().message(), "responseToJson");
    // Known methods always go with a request type the decoder can find.
    if (std::binary_search(fx.methods.begin(), fx.methods.end(), head) && !req.ok() &&
        req.status().code() == sandbank::StatusCode::kNotFound) {
      std::abort();
    }
    return 0;
  }

  // Unknown names still reach a real type, so every input exercises the JSON parser.
  const pb::Descriptor* d = fx.pool.FindMessageTypeByName(head);
  if (d == nullptr) {
    d = fx.pool.FindMessageTypeByName(fx.types[std::hash<std::string>{}(head) % fx.types.size()]);
  }
  const std::string type = d->full_name();

  // JSON -> message, as sim/scenario's jsonToBytes does.
  std::unique_ptr<pb::Message> m(fx.factory->GetPrototype(d)->New());
  pb::util::JsonParseOptions po;
  auto s = pb::util::JsonStringToMessage(body, m.get(), po);
  requireReason(s.ok(), std::string(s.message()), "JsonStringToMessage");
  if (s.ok()) {
    // A message that came from JSON must serialize, decode back to JSON through the mesh,
    // and that JSON must parse again as the same type.
    std::string bytes;
    if (!m->SerializeToString(&bytes)) std::abort();
    auto json = fx.decoder->messageToJson(type, bytes);
    if (!json.ok()) {
      std::fprintf(stderr, "valid %s did not decode: %s\n", type.c_str(), json.status().toString().c_str());
      std::abort();
    }
    std::unique_ptr<pb::Message> again(fx.factory->GetPrototype(d)->New());
    auto s2 = pb::util::JsonStringToMessage(*json, again.get(), po);
    if (!s2.ok()) {
      std::fprintf(stderr, "decoder JSON for %s does not parse back: %s\n%s\n", type.c_str(),
                   std::string(s2.message()).c_str(), json->c_str());
      std::abort();
    }
  }

  // The same body as raw payload bytes: decoded, or rejected with a reason.
  auto raw = fx.decoder->messageToJson(type, body);
  requireReason(raw.ok(), raw.ok() ? "" : raw.status().message(), "messageToJson");
  return 0;
}
