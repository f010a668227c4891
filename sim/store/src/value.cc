// Value coercion, comparison and serialization for the CQL column types.
// Thread-safety: pure functions.
#include "sandbank/store/value.h"

#include <cstdlib>
#include <cstring>

#include "sandbank/store/errors.h"

namespace sandbank::store {
namespace {

bool isHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
int hexVal(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

// Canonical lowercase uuid text, or empty when `s` is not a uuid.
std::string canonicalUuid(std::string_view s) {
  if (s.size() != 36) return {};
  std::string out(s);
  for (size_t i = 0; i < 36; ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !isHex(s[i])) return {};
    if (out[i] >= 'A' && out[i] <= 'F') out[i] = static_cast<char>(out[i] - 'A' + 'a');
  }
  return out;
}

bool validDecimal(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  size_t digits = 0;
  bool dot = false;
  for (; i < s.size(); ++i) {
    if (s[i] == '.' && !dot) { dot = true; continue; }
    if (s[i] < '0' || s[i] > '9') return false;
    ++digits;
  }
  return digits > 0;
}

std::string describe(const Value& v) {
  switch (v.kind) {
    case Value::Kind::kInt: return "an integer (" + std::to_string(v.i) + ")";
    case Value::Kind::kBool: return std::string("a boolean (") + (v.i ? "true" : "false") + ")";
    case Value::Kind::kText: return "a string ('" + v.s + "')";
    case Value::Kind::kBytes: return "a blob";
    case Value::Kind::kDecimal: return "a decimal (" + v.s + ")";
    case Value::Kind::kNull: return "null";
  }
  return "a value";
}

Status typeError(const Value& v, ColumnType type, std::string_view column, std::string_view expected) {
  return storeError(StoreError::kInvalidQuery,
                    "Invalid value for column " + std::string(column) + " of type " +
                        std::string(columnTypeName(type)) + ": expected " + std::string(expected) +
                        ", got " + describe(v));
}

void putBigEndian(uint64_t v, int bytes, std::string* out) {
  for (int i = bytes - 1; i >= 0; --i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

int compareBytes(std::string_view a, std::string_view b) {
  size_t n = std::min(a.size(), b.size());
  int c = n == 0 ? 0 : std::memcmp(a.data(), b.data(), n);
  if (c != 0) return c < 0 ? -1 : 1;
  return a.size() < b.size() ? -1 : (a.size() > b.size() ? 1 : 0);
}

// Orders version-1 uuids by their embedded time, as Cassandra orders timeuuid.
std::string timeuuidKey(const std::string& u) {
  if (u.size() != 36) return u;
  return u.substr(15, 3) + u.substr(9, 4) + u.substr(0, 8) + u.substr(19);
}

}  // namespace

std::string_view columnTypeName(ColumnType type) {
  switch (type) {
    case ColumnType::kText: return "text";
    case ColumnType::kInt: return "int";
    case ColumnType::kBigint: return "bigint";
    case ColumnType::kBoolean: return "boolean";
    case ColumnType::kTimestamp: return "timestamp";
    case ColumnType::kUuid: return "uuid";
    case ColumnType::kTimeuuid: return "timeuuid";
    case ColumnType::kBlob: return "blob";
    case ColumnType::kDecimal: return "decimal";
  }
  return "unknown";
}

bool parseColumnType(std::string_view name, ColumnType* out) {
  std::string n(name);
  for (char& c : n) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  static const std::pair<const char*, ColumnType> kNames[] = {
      {"text", ColumnType::kText},         {"varchar", ColumnType::kText},
      {"ascii", ColumnType::kText},        {"int", ColumnType::kInt},
      {"bigint", ColumnType::kBigint},     {"boolean", ColumnType::kBoolean},
      {"timestamp", ColumnType::kTimestamp}, {"uuid", ColumnType::kUuid},
      {"timeuuid", ColumnType::kTimeuuid}, {"blob", ColumnType::kBlob},
      {"decimal", ColumnType::kDecimal},
  };
  for (const auto& [k, t] : kNames) {
    if (n == k) {
      *out = t;
      return true;
    }
  }
  return false;
}

std::string formatValue(const Value& v) {
  switch (v.kind) {
    case Value::Kind::kNull: return "null";
    case Value::Kind::kInt: return std::to_string(v.i);
    case Value::Kind::kBool: return v.i ? "true" : "false";
    case Value::Kind::kDecimal: return v.s;
    case Value::Kind::kText: {
      std::string out = "'";
      for (char c : v.s) {
        if (c == '\'') out += '\'';
        out += c;
      }
      return out + "'";
    }
    case Value::Kind::kBytes: {
      static const char* kHex = "0123456789abcdef";
      std::string out = "0x";
      for (unsigned char c : v.s) {
        out += kHex[c >> 4];
        out += kHex[c & 15];
      }
      return out;
    }
  }
  return "?";
}

Result<Value> coerceValue(const Value& v, ColumnType type, std::string_view column) {
  if (v.isNull()) return v;
  switch (type) {
    case ColumnType::kText:
      if (v.kind == Value::Kind::kText) return v;
      return typeError(v, type, column, "a string");
    case ColumnType::kInt:
      if (v.kind != Value::Kind::kInt) return typeError(v, type, column, "an integer");
      if (v.i < INT32_MIN || v.i > INT32_MAX) return typeError(v, type, column, "a 32-bit integer");
      return v;
    case ColumnType::kBigint:
    case ColumnType::kTimestamp:
      if (v.kind == Value::Kind::kInt) return v;
      return typeError(v, type, column, type == ColumnType::kBigint ? "an integer" : "milliseconds since the epoch");
    case ColumnType::kBoolean:
      if (v.kind == Value::Kind::kBool) return v;
      return typeError(v, type, column, "true or false");
    case ColumnType::kUuid:
    case ColumnType::kTimeuuid: {
      if (v.kind != Value::Kind::kText) return typeError(v, type, column, "a uuid");
      std::string u = canonicalUuid(v.s);
      if (u.empty()) return typeError(v, type, column, "a uuid");
      if (type == ColumnType::kTimeuuid && u[14] != '1') return typeError(v, type, column, "a version 1 (time-based) uuid");
      return Value::text(std::move(u));
    }
    case ColumnType::kBlob:
      if (v.kind == Value::Kind::kBytes) return v;
      return typeError(v, type, column, "a blob (0x...)");
    case ColumnType::kDecimal:
      if (v.kind == Value::Kind::kInt) return Value::decimal(std::to_string(v.i));
      if ((v.kind == Value::Kind::kDecimal || v.kind == Value::Kind::kText) && validDecimal(v.s)) {
        std::string s = v.s[0] == '+' ? v.s.substr(1) : v.s;
        return Value::decimal(std::move(s));
      }
      return typeError(v, type, column, "a decimal number");
  }
  return typeError(v, type, column, "a value");
}

int compareValues(ColumnType type, const Value& a, const Value& b) {
  if (a.isNull() || b.isNull()) return a.isNull() == b.isNull() ? 0 : (a.isNull() ? -1 : 1);
  switch (type) {
    case ColumnType::kInt:
    case ColumnType::kBigint:
    case ColumnType::kTimestamp:
    case ColumnType::kBoolean:
      return a.i < b.i ? -1 : (a.i > b.i ? 1 : 0);
    case ColumnType::kDecimal: {
      long double x = std::strtold(a.s.c_str(), nullptr);
      long double y = std::strtold(b.s.c_str(), nullptr);
      return x < y ? -1 : (x > y ? 1 : 0);
    }
    case ColumnType::kTimeuuid:
      return compareBytes(timeuuidKey(a.s), timeuuidKey(b.s));
    default:
      return compareBytes(a.s, b.s);
  }
}

int compareForTie(ColumnType type, const Value& a, const Value& b) {
  if (a.isNull() || b.isNull()) return a.isNull() == b.isNull() ? 0 : (a.isNull() ? -1 : 1);
  std::string x, y;
  serializeValue(type, a, &x);
  serializeValue(type, b, &y);
  return compareBytes(x, y);
}

void serializeValue(ColumnType type, const Value& v, std::string* out) {
  switch (type) {
    case ColumnType::kInt: putBigEndian(static_cast<uint32_t>(v.i), 4, out); return;
    case ColumnType::kBigint:
    case ColumnType::kTimestamp: putBigEndian(static_cast<uint64_t>(v.i), 8, out); return;
    case ColumnType::kBoolean: out->push_back(v.i ? 1 : 0); return;
    case ColumnType::kUuid:
    case ColumnType::kTimeuuid:
      for (size_t i = 0; i + 1 < v.s.size();) {
        if (v.s[i] == '-') { ++i; continue; }
        out->push_back(static_cast<char>(hexVal(v.s[i]) * 16 + hexVal(v.s[i + 1])));
        i += 2;
      }
      return;
    case ColumnType::kDecimal: {
      // 4-byte scale, then the unscaled value as a minimal two's-complement varint.
      __int128 unscaled = 0;
      int scale = 0;
      bool neg = false, dot = false;
      for (char c : v.s) {
        if (c == '-') neg = true;
        else if (c == '.') dot = true;
        else if (c >= '0' && c <= '9') {
          unscaled = unscaled * 10 + (c - '0');
          if (dot) ++scale;
        }
      }
      if (neg) unscaled = -unscaled;
      putBigEndian(static_cast<uint32_t>(scale), 4, out);
      std::string mag;
      __int128 x = unscaled;
      do {
        mag.insert(mag.begin(), static_cast<char>(static_cast<uint8_t>(x & 0xff)));
        x >>= 8;
      } while (!((x == 0 && !(mag[0] & 0x80)) || (x == -1 && (mag[0] & 0x80))));
      out->append(mag);
      return;
    }
    default: out->append(v.s); return;
  }
}

std::string serializePartitionKey(const std::vector<ColumnType>& types,
                                  const std::vector<Value>& key) {
  if (types.size() == 1) {
    // Text and blob keys serialize to their own bytes: copy them straight.
    if (types[0] == ColumnType::kText || types[0] == ColumnType::kBlob) return key[0].s;
    std::string out;
    serializeValue(types[0], key[0], &out);
    return out;
  }
  std::string out;
  for (size_t i = 0; i < types.size(); ++i) {
    std::string part;
    serializeValue(types[i], key[i], &part);
    putBigEndian(part.size(), 2, &out);
    out += part;
    out.push_back('\0');
  }
  return out;
}

}  // namespace sandbank::store
