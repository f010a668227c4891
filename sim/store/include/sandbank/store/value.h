// Value and ColumnType: the typed cell contents of the store, with CQL type names,
// coercion of client values to a column's type (errors name the column and its type),
// clustering order comparison and Cassandra's partition-key serialization.
// Thread-safety: value types and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sandbank/core/result.h"

namespace sandbank::store {

enum class ColumnType : uint8_t {
  kText, kInt, kBigint, kBoolean, kTimestamp, kUuid, kTimeuuid, kBlob, kDecimal,
};

std::string_view columnTypeName(ColumnType type);  // "text", "bigint", ...
// Accepts the CQL names plus the aliases varchar and ascii (as text).
bool parseColumnType(std::string_view name, ColumnType* out);

// A cell value. Integers (int, bigint, timestamp in ms) and booleans live in `i`;
// text, blob bytes, uuids (canonical lowercase text) and decimals (canonical text) in `s`.
// As a client-supplied value the kind says what the client sent, and coerce() checks it
// against the column's type.
struct Value {
  enum class Kind : uint8_t { kNull, kInt, kBool, kText, kBytes, kDecimal };
  Kind kind = Kind::kNull;
  int64_t i = 0;
  std::string s;

  static Value null() { return {}; }
  static Value integer(int64_t v) { return {Kind::kInt, v, {}}; }
  static Value boolean(bool v) { return {Kind::kBool, v ? 1 : 0, {}}; }
  static Value text(std::string v) { return {Kind::kText, 0, std::move(v)}; }
  static Value bytes(std::string v) { return {Kind::kBytes, 0, std::move(v)}; }
  // A decimal literal such as "12.50", kept as text.
  static Value decimal(std::string v) { return {Kind::kDecimal, 0, std::move(v)}; }

  bool isNull() const { return kind == Kind::kNull; }
  friend bool operator==(const Value& a, const Value& b) {
    return a.kind == b.kind && a.i == b.i && a.s == b.s;
  }
};

// Renders a value as CQL would print it: 'text', 42, true, 0xcafe, null.
std::string formatValue(const Value& v);

// Checks and converts a client value for a column. Errors are InvalidQuery, e.g.
// "InvalidQuery: Invalid value for column balance of type bigint: expected an integer, got 'abc'".
Result<Value> coerceValue(const Value& v, ColumnType type, std::string_view column);

// Clustering/ordering comparison of two values of the same column type (null first).
int compareValues(ColumnType type, const Value& a, const Value& b);

// The tie-break used by last-write-wins: compares the serialized bytes, unsigned, as
// Cassandra does.
int compareForTie(ColumnType type, const Value& a, const Value& b);

// Appends the CQL native serialization of a non-null value (int: 4 bytes big-endian,
// bigint/timestamp: 8, text: UTF-8, uuid: 16 bytes, boolean: 1...).
void serializeValue(ColumnType type, const Value& v, std::string* out);

// The partition key bytes that Murmur3 hashes: a single component is its serialization;
// a composite key is, per component, a 2-byte big-endian length, the bytes and a 0x00.
std::string serializePartitionKey(const std::vector<ColumnType>& types,
                                  const std::vector<Value>& key);

}  // namespace sandbank::store
