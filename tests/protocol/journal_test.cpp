#include "protocol/journal.hpp"

#include <gtest/gtest.h>

namespace presync {
namespace {

TEST(Journal, DropsTheOldestPastCapacity) {
  journal j{2};

  for (int i = 0; i < 3; ++i) {
    j.add({at(duration{i}), decision::held, direction::connect_to_teams, ""});
  }

  ASSERT_EQ(j.entries().size(), 2u);
  EXPECT_EQ(j.entries().front().at, at(duration{1}));
}

TEST(Journal, DecisionNamesRoundTrip) {
  for (int i = 0; i < decision_count; ++i) {
    auto d = static_cast<decision>(i);
    EXPECT_EQ(parse_decision(to_string(d)), d);
  }
  EXPECT_FALSE(parse_decision("maybe"));
}

} // namespace
} // namespace presync
