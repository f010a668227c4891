// Helpers the fuzz targets share: a reader that splits one fuzz input into a sequence of
// framed requests, and the check that every rejection carries a reason. Header-only.
// Thread-safety: FrameReader is a plain value used by one fuzzing thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace sandbank::fuzz {

// Input layout for the request-sequence targets (bus, store):
//   frame := selector:u8 length:u16-little-endian payload[length]
// A short last frame takes what is left, so every byte string is a valid sequence.
// fuzz/make_seeds.py writes seeds in this layout.
class FrameReader {
 public:
  FrameReader(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  bool next(uint8_t* selector, std::string_view* payload) {
    if (pos_ >= size_) return false;
    *selector = data_[pos_++];
    size_t len = 0;
    if (pos_ + 2 <= size_) {
      len = static_cast<size_t>(data_[pos_]) | (static_cast<size_t>(data_[pos_ + 1]) << 8);
      pos_ += 2;
    } else {
      pos_ = size_;
    }
    if (len > size_ - pos_) len = size_ - pos_;
    *payload = std::string_view(reinterpret_cast<const char*>(data_ + pos_), len);
    pos_ += len;
    return true;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

// Every bad input must be rejected with a reason a person can act on: an empty message
// is a finding, so stop the fuzzer on it like on a crash.
inline void requireReason(bool ok, const std::string& message, const char* what) {
  if (!ok && message.empty()) {
    std::fprintf(stderr, "%s: rejected without a reason\n", what);
    std::abort();
  }
}

}  // namespace sandbank::fuzz
