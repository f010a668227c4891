// Field-by-field reading of request bodies; see json_body.h.
#include "json_body.h"

#include <charconv>

namespace sandbank::edge {
namespace {

constexpr int kMaxDepth = 32;

// Deepest nesting of objects and arrays outside strings; checked before parsing so no
// body can drive the parser into deep recursion.
int nestingDepth(std::string_view s) {
  int depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char c : s) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '{' || c == '[') deepest = std::max(deepest, ++depth);
    else if (c == '}' || c == ']') --depth;
  }
  return deepest;
}

const char* typeName(const nlohmann::json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::null: return "null";
    case nlohmann::json::value_t::object: return "an object";
    case nlohmann::json::value_t::array: return "an array";
    case nlohmann::json::value_t::string: return "a string";
    case nlohmann::json::value_t::boolean: return "a boolean";
    case nlohmann::json::value_t::number_float: return "a fraction";
    default: return "a number";
  }
}

}  // namespace

Result<JsonBody> JsonBody::parse(std::string_view body) {
  size_t first = body.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return JsonBody(nlohmann::json::object(), "");
  if (nestingDepth(body) > kMaxDepth) {
    return InvalidArgument("the JSON body is nested deeper than " + std::to_string(kMaxDepth) + " levels");
  }
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(body);
  } catch (const nlohmann::json::exception& e) {
    std::string what = e.what();
    // "[json.exception.parse_error.101] parse error at line 1, column 5: ..." -> the readable part.
    if (size_t p = what.find("] "); what.rfind("[json.exception", 0) == 0 && p != std::string::npos) {
      what = what.substr(p + 2);
    }
    return InvalidArgument("malformed JSON body: " + what);
  }
  if (!j.is_object()) return InvalidArgument(std::string("the JSON body must be an object, not ") + typeName(j));
  return JsonBody(std::move(j), "");
}

const nlohmann::json* JsonBody::find(std::string_view field) const {
  auto it = value_.find(field);
  if (it == value_.end() || it->is_null()) return nullptr;
  return &*it;
}

bool JsonBody::has(std::string_view field) const { return find(field) != nullptr; }

Result<std::string> JsonBody::text(std::string_view field, bool required) const {
  const nlohmann::json* j = find(field);
  if (!j) {
    if (required) return InvalidArgument(name(field) + " is required");
    return std::string();
  }
  if (!j->is_string()) return InvalidArgument(name(field) + " must be a string, not " + typeName(*j));
  std::string s = j->get<std::string>();
  if (required && s.empty()) return InvalidArgument(name(field) + " is required (it is empty)");
  return s;
}

Result<std::optional<int64_t>> JsonBody::integer(std::string_view field, bool required) const {
  const nlohmann::json* j = find(field);
  if (!j) {
    if (required) return InvalidArgument(name(field) + " is required");
    return std::optional<int64_t>();
  }
  if (j->is_number_integer() && !j->is_number_unsigned()) return std::optional<int64_t>(j->get<int64_t>());
  if (j->is_number_unsigned()) {
    uint64_t u = j->get<uint64_t>();
    if (u > static_cast<uint64_t>(INT64_MAX)) return InvalidArgument(name(field) + " is out of the int64 range");
    return std::optional<int64_t>(static_cast<int64_t>(u));
  }
  if (j->is_string()) {
    const std::string& s = j->get_ref<const std::string&>();
    int64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || p != s.data() + s.size()) {
      return InvalidArgument(name(field) + " must be an integer (a number or a string of digits), not \"" + s + "\"");
    }
    return std::optional<int64_t>(v);
  }
  return InvalidArgument(name(field) + " must be an integer, not " + typeName(*j));
}

Result<JsonBody> JsonBody::object(std::string_view field, bool required) const {
  const nlohmann::json* j = find(field);
  if (!j) {
    if (required) return InvalidArgument(name(field) + " is required");
    return JsonBody(nlohmann::json::object(), name(field) + ".");
  }
  if (!j->is_object()) return InvalidArgument(name(field) + " must be an object, not " + typeName(*j));
  return JsonBody(*j, name(field) + ".");
}

Result<bank::Money> JsonBody::money(std::string_view field) const {
  SANDBANK_ASSIGN_OR_RETURN(JsonBody m, object(field));
  SANDBANK_ASSIGN_OR_RETURN(std::optional<int64_t> units, m.integer("minor_units"));
  SANDBANK_ASSIGN_OR_RETURN(std::string currency, m.text("currency"));
  if (currency.size() != 3) {
    return InvalidArgument(m.name("currency") + " must be a three-letter ISO 4217 code such as GBP, not \"" +
                           currency + "\"");
  }
  bank::Money out;
  out.set_minor_units(*units);
  out.set_currency(currency);
  return out;
}

}  // namespace sandbank::edge
