// Record helpers: size accounting and the W3C traceparent parser. Thread-safety: stateless.
#include "sandbank/bus/record.h"

namespace sandbank::bus {

size_t Record::sizeBytes() const {
  size_t n = value.size() + (key ? key->size() : 0);
  for (const auto& h : headers) n += h.key.size() + h.value.size();
  return n;
}

const std::string* Record::header(const std::string& name) const {
  for (const auto& h : headers) {
    if (h.key == name) return &h.value;
  }
  return nullptr;
}

namespace {
bool isLowerHex(const std::string& s, size_t from, size_t count) {
  for (size_t i = from; i < from + count; ++i) {
    const char c = s[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}
}  // namespace

bool parseTraceparent(const std::string& value, std::string* trace_id, std::string* span_id) {
  // version(2) '-' trace-id(32) '-' parent-id(16) '-' flags(2)
  if (value.size() < 55 || value[2] != '-' || value[35] != '-' || value[52] != '-') return false;
  if (!isLowerHex(value, 0, 2) || !isLowerHex(value, 3, 32) || !isLowerHex(value, 36, 16) ||
      !isLowerHex(value, 53, 2)) {
    return false;
  }
  if (value.compare(3, 32, std::string(32, '0')) == 0) return false;  // all-zero id is invalid
  if (trace_id) trace_id->assign(value, 3, 32);
  if (span_id) span_id->assign(value, 36, 16);
  return true;
}

}  // namespace sandbank::bus
