// Store values as scenario JSON and back, shared by both bank accesses so a row reads the
// same in process and over the control port: 64-bit integers beyond 2^53 as strings,
// blobs as CQL prints them (0xcafe), a fractional number bound as a decimal.
// Thread-safety: pure functions.
#pragma once

#include <nlohmann/json.hpp>

#include "sandbank/store/value.h"

namespace sandbank::scenario {

inline nlohmann::json storeValueToJson(store::ColumnType type, const store::Value& v) {
  if (v.isNull()) return nullptr;
  switch (type) {
    case store::ColumnType::kInt:
    case store::ColumnType::kBigint:
    case store::ColumnType::kTimestamp:
      if (v.i > (int64_t{1} << 53) || v.i < -(int64_t{1} << 53)) return std::to_string(v.i);
      return v.i;
    case store::ColumnType::kBoolean: return v.i != 0;
    case store::ColumnType::kBlob: return store::formatValue(v);
    default: return v.s;
  }
}

inline store::Value jsonToStoreValue(const nlohmann::json& j) {
  if (j.is_null()) return store::Value::null();
  if (j.is_boolean()) return store::Value::boolean(j.get<bool>());
  if (j.is_number_integer() || j.is_number_unsigned()) return store::Value::integer(j.get<int64_t>());
  if (j.is_number_float()) {
    double d = j.get<double>();
    if (d == static_cast<double>(static_cast<int64_t>(d))) return store::Value::integer(static_cast<int64_t>(d));
    return store::Value::decimal(j.dump());
  }
  if (j.is_string()) return store::Value::text(j.get<std::string>());
  return store::Value::text(j.dump());
}

}  // namespace sandbank::scenario
