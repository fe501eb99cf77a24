#include "protocol/time.hpp"

#include <gtest/gtest.h>

using namespace std::chrono_literals;

namespace presync {
namespace {

TEST(Duration, ParsesEveryUnit) {
  EXPECT_EQ(parse_duration("250ms"), duration{250});
  EXPECT_EQ(parse_duration("15s"), duration{15s});
  EXPECT_EQ(parse_duration("4m"), duration{4min});
  EXPECT_EQ(parse_duration("1h"), duration{1h});
  EXPECT_EQ(parse_duration("0"), duration{0});
}

TEST(Duration, RejectsMalformedText) {
  EXPECT_FALSE(parse_duration(""));
  EXPECT_FALSE(parse_duration("15"));
  EXPECT_FALSE(parse_duration("s"));
  EXPECT_FALSE(parse_duration("-5s"));
  EXPECT_FALSE(parse_duration("5 s"));
  EXPECT_FALSE(parse_duration("5d"));
  EXPECT_FALSE(parse_duration("99999999999999999999h"));
  EXPECT_FALSE(parse_duration("9223372036854775807h"));
}

TEST(Duration, FormatsWithTheLargestExactUnit) {
  EXPECT_EQ(format_duration(15s), "15s");
  EXPECT_EQ(format_duration(14999ms), "14999ms");
  EXPECT_EQ(format_duration(240s), "4m");
  EXPECT_EQ(format_duration(2h), "2h");
  EXPECT_EQ(format_duration(0ms), "0s");
}

} // namespace
} // namespace presync
