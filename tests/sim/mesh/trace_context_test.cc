// traceparent parsing and id generation.
#include <gtest/gtest.h>

#include "sandbank/mesh/trace_context.h"

namespace sandbank::mesh {
namespace {

TEST(TraceContext, ParsesAndFormatsW3cTraceparent) {
  auto tc = parseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  ASSERT_TRUE(tc.has_value());
  EXPECT_EQ(tc->trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(tc->span_id, "00f067aa0ba902b7");
  EXPECT_EQ(formatTraceparent(*tc), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
}

TEST(TraceContext, RejectsMalformedOrZeroIds) {
  EXPECT_FALSE(parseTraceparent(""));
  EXPECT_FALSE(parseTraceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
  EXPECT_FALSE(parseTraceparent("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"));
  EXPECT_FALSE(parseTraceparent("00-00000000000000000000000000000000-00f067aa0ba902b7-01"));
  EXPECT_FALSE(parseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"));
  EXPECT_FALSE(parseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7"));
}

TEST(TraceContext, NewIdsAreValidAndDistinct) {
  std::string t = newTraceId(), s = newSpanId();
  auto tc = parseTraceparent(formatTraceparent({t, s}));
  ASSERT_TRUE(tc.has_value());
  EXPECT_EQ(tc->trace_id, t);
  EXPECT_NE(newTraceId(), t);
  EXPECT_NE(newSpanId(), s);
}

}  // namespace
}  // namespace sandbank::mesh
