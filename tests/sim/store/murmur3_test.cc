// Tokens must match Cassandra's Murmur3Partitioner, or replica placement (and any
// comparison with a real cluster's `SELECT token(...)`) would differ.
#include <gtest/gtest.h>

#include <string>

#include "sandbank/store/murmur3.h"
#include "sandbank/store/value.h"

namespace sandbank::store {
namespace {

std::string intKey(int32_t v) {
  std::string out;
  serializeValue(ColumnType::kInt, Value::integer(v), &out);
  return out;
}

TEST(Murmur3Token, MatchesCassandraForIntKeys) {
  // Values printed by `SELECT token(k)` on Cassandra for int keys (also in Cassandra's
  // own dtests).
  EXPECT_EQ(murmur3Token(intKey(1)), -4069959284402364209);
  EXPECT_EQ(murmur3Token(intKey(2)), -3248873570005575792);
  EXPECT_EQ(murmur3Token(intKey(3)), 9010454139840013625);
  EXPECT_EQ(murmur3Token(intKey(4)), -2729420104000364805);
  EXPECT_EQ(murmur3Token(intKey(5)), -7509452495886106294);
  EXPECT_EQ(murmur3Token(intKey(10)), -6715243485458697746);
}

TEST(Murmur3Token, SignExtendsTailBytesLikeCassandra) {
  // Bytes >= 0x80 in the tail are sign-extended by Cassandra's Java implementation.
  EXPECT_EQ(murmur3Token(intKey(-1)), 7297452126230313552);
  EXPECT_EQ(murmur3Token(intKey(128)), -9081975895656599623);
  EXPECT_EQ(murmur3Token(std::string("\x80", 1)), -5284281814142962636);
}

TEST(Murmur3Token, MatchesForTextAndCompositeKeys) {
  EXPECT_EQ(murmur3Token("a"), -8839064797231613815);
  EXPECT_EQ(murmur3Token("hello"), -3758069500696749310);
  EXPECT_EQ(murmur3Token("0123456789abcdef"), 5467490433528156583);  // one full block
  std::string composite = serializePartitionKey({ColumnType::kText, ColumnType::kInt},
                                                {Value::text("hello"), Value::integer(42)});
  EXPECT_EQ(murmur3Token(composite), 7666157718303755816);
}

TEST(Murmur3Token, EmptyInputHashesToZero) {
  EXPECT_EQ(cassandraMurmur3("").h1, 0);
  EXPECT_EQ(cassandraMurmur3("").h2, 0);
}

}  // namespace
}  // namespace sandbank::store
