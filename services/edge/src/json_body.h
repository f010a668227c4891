// JsonBody: reads a request's JSON body field by field with errors that name the field
// and what was wrong ("amount.minor_units must be an integer"). int64 fields accept a
// number or a decimal string, as proto3 JSON renders them. Internal to the edge.
// Thread-safety: a value; no shared state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "sandbank/bank/money.pb.h"
#include "sandbank/core/result.h"

namespace sandbank::edge {

class JsonBody {
 public:
  // An empty body reads as an empty object. INVALID_ARGUMENT for malformed JSON (with
  // line and column), nesting deeper than 32 levels, or a top level that is no object.
  static Result<JsonBody> parse(std::string_view body);

  // The string at `field`; INVALID_ARGUMENT when required and missing/empty, or not a string.
  Result<std::string> text(std::string_view field, bool required = true) const;
  // An integer (number or decimal string) at `field`; nullopt when absent and not required.
  Result<std::optional<int64_t>> integer(std::string_view field, bool required = true) const;
  // {"minor_units": ..., "currency": "GBP"}: both required.
  Result<bank::Money> money(std::string_view field) const;
  // The object at `field` (absent and not required: an empty object).
  Result<JsonBody> object(std::string_view field, bool required = true) const;
  bool has(std::string_view field) const;

 private:
  JsonBody(nlohmann::json value, std::string prefix) : value_(std::move(value)), prefix_(std::move(prefix)) {}
  std::string name(std::string_view field) const { return prefix_ + std::string(field); }
  const nlohmann::json* find(std::string_view field) const;

  nlohmann::json value_;
  std::string prefix_;  // "amount." for a nested object, so errors name the full path
};

}  // namespace sandbank::edge
