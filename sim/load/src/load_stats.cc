// LatencyHistogram: log-linear buckets over microseconds. Not synchronised.
#include "sandbank/load/load_stats.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace sandbank::load {
namespace {

constexpr int kSub = 16;
constexpr int kSubBits = 4;

int bucketOf(uint64_t us) {
  if (us < kSub) return static_cast<int>(us);
  int e = std::bit_width(us) - 1;  // >= kSubBits
  int sub = static_cast<int>((us >> (e - kSubBits)) & (kSub - 1));
  return kSub + (e - kSubBits) * kSub + sub;
}

// The exclusive upper bound, in microseconds, of a bucket.
uint64_t bucketUpper(int b) {
  if (b < kSub) return static_cast<uint64_t>(b) + 1;
  int e = (b - kSub) / kSub + kSubBits;
  uint64_t sub = static_cast<uint64_t>((b - kSub) % kSub);
  return ((kSub + sub + 1) << (e - kSubBits));
}

}  // namespace

LatencyHistogram::LatencyHistogram() = default;

void LatencyHistogram::record(std::chrono::nanoseconds latency) {
  if (latency.count() < 0) latency = std::chrono::nanoseconds(0);
  uint64_t us = static_cast<uint64_t>(latency.count() / 1000);
  int b = std::min(bucketOf(us), kBuckets - 1);
  ++buckets_[static_cast<size_t>(b)];
  ++count_;
  max_ = std::max(max_, latency);
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
  for (size_t i = 0; i < buckets_.size(); ++i) buckets_[i] += other.buckets_[i];
  count_ += other.count_;
  max_ = std::max(max_, other.max_);
}

std::chrono::nanoseconds LatencyHistogram::percentile(double q) const {
  if (count_ == 0) return std::chrono::nanoseconds(0);
  q = std::clamp(q, 0.0, 1.0);
  uint64_t rank = std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_))));
  uint64_t seen = 0;
  for (int b = 0; b < kBuckets; ++b) {
    seen += buckets_[static_cast<size_t>(b)];
    if (seen >= rank) {
      auto upper = std::chrono::nanoseconds(static_cast<int64_t>(bucketUpper(b)) * 1000);
      return std::min(upper, max_);
    }
  }
  return max_;
}

}  // namespace sandbank::load
