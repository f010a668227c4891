// StrongId: a typed wrapper so an AccountId can never be passed where a NodeId is
// expected. Each component declares its own ids with a tag struct:
//   struct NodeIdTag {};  using NodeId = StrongId<NodeIdTag, int>;
// Thread-safety: a value type.
#pragma once

#include <compare>
#include <functional>
#include <ostream>
#include <string>
#include <utility>

namespace sandbank {

template <class Tag, class Rep>
class StrongId {
 public:
  using rep_type = Rep;
  StrongId() = default;
  explicit StrongId(Rep v) : v_(std::move(v)) {}
  const Rep& value() const { return v_; }
  auto operator<=>(const StrongId&) const = default;
  bool operator==(const StrongId&) const = default;
  friend std::ostream& operator<<(std::ostream& os, const StrongId& id) { return os << id.v_; }

 private:
  Rep v_{};
};

// Ids shared by several layers.
struct ServiceNameTag {};
using ServiceName = StrongId<ServiceNameTag, std::string>;  // "ledger", as in the manifest
struct TraceIdTag {};
using TraceId = StrongId<TraceIdTag, std::string>;  // 32 lowercase hex digits (W3C)

}  // namespace sandbank

template <class Tag, class Rep>
struct std::hash<sandbank::StrongId<Tag, Rep>> {
  size_t operator()(const sandbank::StrongId<Tag, Rep>& id) const noexcept {
    return std::hash<Rep>{}(id.value());
  }
};
