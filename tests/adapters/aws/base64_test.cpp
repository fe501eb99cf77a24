#include "adapters/aws/base64.hpp"

#include <gtest/gtest.h>

using namespace presync::aws;

TEST(Base64, DecodesTheRfcVectors) {
  EXPECT_EQ(base64_decode("").value(), "");
  EXPECT_EQ(base64_decode("Zg==").value(), "f");
  EXPECT_EQ(base64_decode("Zm8=").value(), "fo");
  EXPECT_EQ(base64_decode("Zm9v").value(), "foo");
  EXPECT_EQ(base64_decode("Zm9vYmFy").value(), "foobar");
}

TEST(Base64, DecodesTheSpecRecordData) {
  auto data =
    base64_decode("eyJFdmVudFR5cGUiOiJIRUFSVF9CRUFUIiwgIi4uLiI6ICIuLi4ifQ==");

  ASSERT_TRUE(data);
  EXPECT_EQ(data.value(), R"({"EventType":"HEART_BEAT", "...": "..."})");
}

TEST(Base64, RoundTripsEveryByteValue) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) {
    bytes += static_cast<char>(i);
  }
  for (size_t n = 0; n < 6; ++n) {
    auto cut = bytes.substr(n);
    EXPECT_EQ(base64_decode(base64_encode(cut)).value(), cut);
  }
}

TEST(Base64, RejectsALengthThatIsNotAMultipleOfFour) {
  auto r = base64_decode("Zm9");

  ASSERT_FALSE(r);
  EXPECT_EQ(r.err().code, presync::sync_error::malformed);
  EXPECT_NE(r.err().context.find("multiple of 4"), std::string::npos);
}

TEST(Base64, RejectsCharactersOutsideTheAlphabet) {
  auto r = base64_decode("Zm9v*mFy");

  ASSERT_FALSE(r);
  EXPECT_NE(r.err().context.find("offset 4"), std::string::npos);
  EXPECT_FALSE(base64_decode("Zm9v\nmFy"));
  EXPECT_FALSE(base64_decode("Zm-_"));
}

TEST(Base64, RejectsMisplacedPadding) {
  EXPECT_FALSE(base64_decode("Zg==Zm9v"));
  EXPECT_FALSE(base64_decode("Z=g="));
  EXPECT_FALSE(base64_decode("Z==="));
  EXPECT_FALSE(base64_decode("===="));
}

TEST(Base64, RejectsNonZeroBitsBeforePadding) {
  EXPECT_FALSE(base64_decode("Zh=="));
  EXPECT_FALSE(base64_decode("Zm9="));
}
