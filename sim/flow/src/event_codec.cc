// Varint-based packing of FlowEvent's secondary fields. Format (version 1): a version
// byte, then in fixed order each string as varint length + bytes and each integer as a
// zigzag varint. Pure functions.
#include "event_codec.h"

#include <cstdint>

namespace sandbank::flow::codec {
namespace {

constexpr char kVersion = 1;

void putVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}
void putInt(std::string* out, int64_t v) {
  putVarint(out, (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
}
void putString(std::string* out, const std::string& s) {
  putVarint(out, s.size());
  out->append(s);
}

struct Reader {
  std::string_view in;
  bool ok = true;
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (in.empty()) break;
      auto b = static_cast<uint8_t>(in.front());
      in.remove_prefix(1);
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    ok = false;
    return 0;
  }
  int64_t integer() {
    uint64_t z = varint();
    return static_cast<int64_t>((z >> 1) ^ (~(z & 1) + 1));
  }
  std::string string() {
    uint64_t n = varint();
    if (!ok || n > in.size()) {
      ok = false;
      return {};
    }
    std::string s(in.substr(0, n));
    in.remove_prefix(n);
    return s;
  }
};

}  // namespace

void encodeExt(const FlowEvent& e, std::string* out) {
  out->clear();
  out->push_back(kVersion);
  putString(out, e.span_id);
  putString(out, e.parent_span_id);
  putInt(out, e.start_real_us);
  putInt(out, e.end_real_us - e.start_real_us);
  putString(out, e.method);
  putString(out, e.topic);
  putInt(out, e.partition);
  putInt(out, e.offset);
  putString(out, e.consumer_group);
  putString(out, e.keyspace);
  putString(out, e.table);
  putString(out, e.partition_key);
  putInt(out, e.size);
  putString(out, e.payload_type);
  putString(out, e.detail);
}

bool decodeExt(std::string_view bytes, FlowEvent* e) {
  if (bytes.empty() || bytes.front() != kVersion) return false;
  Reader r{bytes.substr(1)};
  e->span_id = r.string();
  e->parent_span_id = r.string();
  e->start_real_us = r.integer();
  e->end_real_us = e->start_real_us + r.integer();
  e->method = r.string();
  e->topic = r.string();
  e->partition = static_cast<int32_t>(r.integer());
  e->offset = r.integer();
  e->consumer_group = r.string();
  e->keyspace = r.string();
  e->table = r.string();
  e->partition_key = r.string();
  e->size = r.integer();
  e->payload_type = r.string();
  e->detail = r.string();
  return r.ok && r.in.empty();
}

}  // namespace sandbank::flow::codec
