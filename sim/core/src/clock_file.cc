// The shared clock offset: one int64 (nanoseconds) in a mapped file.
#include "sandbank/core/clock_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

namespace sandbank {
namespace {

constexpr size_t kSize = 4096;

std::atomic<int64_t>* slot(void* map) { return static_cast<std::atomic<int64_t>*>(map); }

}  // namespace

Result<std::shared_ptr<SharedClockOffset>> SharedClockOffset::create(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Internal("cannot create clock file " + path + ": " + std::strerror(errno));
  if (::ftruncate(fd, kSize) != 0) {
    ::close(fd);
    return Internal("cannot size clock file " + path + ": " + std::strerror(errno));
  }
  void* map = ::mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) return Internal("cannot map clock file " + path + ": " + std::strerror(errno));
  slot(map)->store(0);
  return std::shared_ptr<SharedClockOffset>(new SharedClockOffset(path, map, true));
}

Result<std::shared_ptr<SharedClockOffset>> SharedClockOffset::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NotFound("cannot open clock file " + path + ": " + std::strerror(errno));
  void* map = ::mmap(nullptr, kSize, PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) return Internal("cannot map clock file " + path + ": " + std::strerror(errno));
  return std::shared_ptr<SharedClockOffset>(new SharedClockOffset(path, map, false));
}

SharedClockOffset::~SharedClockOffset() { ::munmap(map_, kSize); }

Duration SharedClockOffset::offset() const {
  return Duration(slot(map_)->load(std::memory_order_relaxed));
}

void SharedClockOffset::set(Duration d) {
  if (writable_) slot(map_)->store(d.count(), std::memory_order_relaxed);
}

void SharedClockOffset::advance(Duration d) {
  if (writable_ && d.count() > 0) slot(map_)->fetch_add(d.count(), std::memory_order_relaxed);
}

}  // namespace sandbank
