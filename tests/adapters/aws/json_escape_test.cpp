#include "adapters/aws/json_escape.hpp"

#include <gtest/gtest.h>

using namespace presync::aws;

TEST(JsonEscape, QuotesAndEscapesSpecialCharacters) {
  EXPECT_EQ(json_string(R"(a"b\c)"), R"("a\"b\\c")");
  EXPECT_EQ(json_string("line\nnext\ttab\r"), R"("line\nnext\ttab\r")");
  EXPECT_EQ(json_string(std::string{"\x01\x1f", 2}), R"("\u0001\u001f")");
  EXPECT_EQ(json_string(std::string{"\0", 1}), R"("\u0000")");
}

TEST(JsonEscape, CopiesUtf8AndSlashesAsTheyAre) {
  EXPECT_EQ(json_string("caf\xc3\xa9/x"), "\"caf\xc3\xa9/x\"");
}

TEST(JsonEscape, AppendsToWhatIsAlreadyThere) {
  std::string out = "{\"k\":";

  append_json_string(out, "v");

  EXPECT_EQ(out, R"({"k":"v")");
}
