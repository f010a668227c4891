// bankcore: address rules, the per-currency zero-sum check and the legs text form.
#include <gtest/gtest.h>

#include "sandbank/bankcore/money.h"

namespace sandbank::bank {
namespace {

TEST(BankcoreTest, AddressesFollowTheKindAndPartRules) {
  EXPECT_TRUE(validateAddress("account:acc_1:main").ok());
  EXPECT_TRUE(validateAddress("pot:p-9").ok());
  EXPECT_TRUE(validateAddress("scheme:mastercard:pending").ok());
  EXPECT_TRUE(validateAddress("scheme:fps:suspense").ok());
  EXPECT_FALSE(validateAddress("").ok());
  EXPECT_FALSE(validateAddress("account:acc_1").ok());
  EXPECT_FALSE(validateAddress("wallet:1").ok());
  EXPECT_FALSE(validateAddress("pot::x").ok());
  EXPECT_FALSE(validateAddress("pot:a b").ok());
  EXPECT_EQ(mainAddress(AccountId("a1")), "account:a1:main");
  EXPECT_EQ(accountOf("account:a1:main").value_or(AccountId("?")), AccountId("a1"));
  EXPECT_FALSE(accountOf("pot:a1").has_value());
}

TEST(BankcoreTest, EntrySetsMustSumToZeroInEachCurrencySeparately) {
  std::vector<Leg> ok = {{"account:a:main", -500, "GBP"}, {"account:b:main", 500, "GBP"},
                         {"pot:x", 7, "EUR"}, {"pot:y", -7, "EUR"}};
  EXPECT_TRUE(checkBalanced(ok).ok());
  // Zero overall, but not per currency.
  std::vector<Leg> mixed = {{"account:a:main", -500, "GBP"}, {"account:b:main", 500, "EUR"}};
  Status s = checkBalanced(mixed);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("do not balance in EUR"), std::string::npos) << s.message();
  EXPECT_EQ(checkBalanced({{"account:a:main", 0, "GBP"}, {"account:b:main", 0, "GBP"}}).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(checkBalanced({{"account:a:main", -1, "gbp"}, {"account:b:main", 1, "gbp"}}).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(checkBalanced({{"account:a:main", INT64_MAX, "GBP"}, {"account:b:main", 1, "GBP"},
                           {"account:c:main", INT64_MIN, "GBP"}})
                .code(),
            StatusCode::kInvalidArgument);
}

TEST(BankcoreTest, LegsRoundTripThroughTheirTextForm) {
  std::vector<Leg> legs = {{"account:a:main", -120, "GBP"}, {"scheme:mastercard:pending", 120, "GBP"}};
  std::vector<Leg> back;
  ASSERT_TRUE(decodeLegs(encodeLegs(legs), &back).ok());
  EXPECT_EQ(back, legs);
  EXPECT_FALSE(decodeLegs("account:a:main GBP 12x\n", &back).ok());
  EXPECT_FALSE(decodeLegs("account:a:main GBP\n", &back).ok());
}

TEST(BankcoreTest, BucketsAreStableAndInRange) {
  // FNV-1a 64 published test vectors.
  EXPECT_EQ(stableHash(""), 0xcbf29ce484222325ULL);
  EXPECT_EQ(stableHash("a"), 0xaf63dc4c8601ec8cULL);
  EXPECT_EQ(stableHash("foobar"), 0x85944171f73967e8ULL);
  for (const char* a : {"account:a:main", "pot:1", "scheme:fps:suspense"}) {
    int32_t b = bucketOf(a, 16);
    EXPECT_GE(b, 0);
    EXPECT_LT(b, 16);
    EXPECT_EQ(b, bucketOf(a, 16));
  }
}

}  // namespace
}  // namespace sandbank::bank
