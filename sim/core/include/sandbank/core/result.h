// Result<T>: either a value or a non-OK Status. The return type for anything that can
// fail across a component boundary; exceptions never cross one.
// Thread-safety: a value type, like Status.
#pragma once

#include <cassert>
#include <type_traits>
#include <utility>
#include <variant>

#include "sandbank/core/status.h"

namespace sandbank {

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT
    assert(!std::get<Status>(v_).ok() && "Result built from an OK Status has no value");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  // The error; OK when a value is held.
  Status status() const { return ok() ? Status() : std::get<Status>(v_); }

  T& value() & { assert(ok()); return std::get<T>(v_); }
  const T& value() const& { assert(ok()); return std::get<T>(v_); }
  T&& value() && { assert(ok()); return std::get<T>(std::move(v_)); }
  T valueOr(T fallback) const { return ok() ? std::get<T>(v_) : std::move(fallback); }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace sandbank

// Evaluates `rexpr` (a Result); on error returns its Status, else moves the value into `lhs`.
#define SANDBANK_ASSIGN_OR_RETURN(lhs, rexpr)            \
  auto SANDBANK_CONCAT_(sb_r_, __LINE__) = (rexpr);      \
  if (!SANDBANK_CONCAT_(sb_r_, __LINE__).ok())           \
    return SANDBANK_CONCAT_(sb_r_, __LINE__).status();   \
  lhs = std::move(SANDBANK_CONCAT_(sb_r_, __LINE__)).value()
#define SANDBANK_CONCAT_(a, b) SANDBANK_CONCAT2_(a, b)
#define SANDBANK_CONCAT2_(a, b) a##b
