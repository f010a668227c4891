// A simulated-time offset shared between the simulator and its services through a small
// memory-mapped file (SANDBANK_CLOCK_FILE). The simulator advances it; every service's
// clock reads it on each now(), so `clock.advance("7d")` reaches the whole bank at once.
// Thread-safety: reads and writes are single aligned 64-bit atomics on the mapping.
#pragma once

#include <memory>
#include <string>

#include "sandbank/core/clock.h"
#include "sandbank/core/result.h"

namespace sandbank {

class SharedClockOffset {
 public:
  // Creates (or truncates) the file with offset 0, mode 0600.
  static Result<std::shared_ptr<SharedClockOffset>> create(const std::string& path);
  // Maps an existing file read-only.
  static Result<std::shared_ptr<SharedClockOffset>> open(const std::string& path);
  ~SharedClockOffset();

  Duration offset() const;
  // Only for a mapping made by create().
  void set(Duration offset);
  void advance(Duration d);  // negative values are ignored: time never runs backwards
  const std::string& path() const { return path_; }

 private:
  SharedClockOffset(std::string path, void* map, bool writable)
      : path_(std::move(path)), map_(map), writable_(writable) {}
  std::string path_;
  void* map_;
  bool writable_;
};

// Real time plus the shared offset.
class SharedOffsetClock final : public Clock {
 public:
  explicit SharedOffsetClock(std::shared_ptr<SharedClockOffset> offset) : offset_(std::move(offset)) {}
  TimePoint now() const override {
    return std::chrono::system_clock::now() +
           std::chrono::duration_cast<TimePoint::duration>(offset_->offset());
  }

 private:
  std::shared_ptr<SharedClockOffset> offset_;
};

}  // namespace sandbank
