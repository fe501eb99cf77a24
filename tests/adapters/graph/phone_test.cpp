#include "adapters/graph/phone.hpp"

#include <gtest/gtest.h>

namespace presync::graph {
namespace {

struct good_row {
  std::string_view text;
  std::string_view region;
  std::string_view number;
  std::string_view extension;
};

TEST(NormalizeE164, AcceptsTheSpecsSpellings) {
  const good_row rows[] = {
    {"+1 425 555 0101", "US", "+14255550101", ""},
    {"+1 (425) 555-0100 x123", "US", "+14255550100", "123"},
    {"(425) 555-0102 x123", "US", "+14255550102", "123"},
    {"425.555.0102 ext. 45", "US", "+14255550102", "45"},
    {"+1 425 555 0102;ext=9", "US", "+14255550102", "9"},
    {"011 44 20 7946 0018", "US", "+442079460018", ""},
    {"0044 20 7946 0018", "DE", "+442079460018", ""},
    {"020 7946 0018", "GB", "+442079460018", ""},
    {"030 1234567", "DE", "+49301234567", ""},
    {"+44 7911 123456", "US", "+447911123456", ""},
  };

  for (const auto& r : rows) {
    auto n = normalize_e164(r.text, r.region);

    ASSERT_TRUE(n) << r.text << ": " << n.err().describe();
    EXPECT_EQ(n->number, r.number) << r.text;
    EXPECT_EQ(n->extension, r.extension) << r.text;
  }
}

TEST(NormalizeE164, RejectsWithAReasonThatOmitsTheNumber) {
  const std::pair<std::string_view, std::string_view> rows[] = {
    {"", "phone number: empty"},
    {"+1 425 CALL NOW", "phone number: contains letters"},
    {"+1234567890123456", "phone number: more than 15 digits"},
    {"+1 425", "phone number: not a valid number"},
    {"12+34", "phone number: misplaced +"},
    // Ofcom's range for drama: the library knows it is not in service.
    {"+44 7700 900102", "phone number: not a valid number"},
  };

  for (const auto& [text, reason] : rows) {
    auto n = normalize_e164(text, "US");

    ASSERT_FALSE(n) << text;
    EXPECT_EQ(n.err().code, sync_error::rejected);
    EXPECT_EQ(n.err().context, reason) << text;
  }
}

} // namespace
} // namespace presync::graph
