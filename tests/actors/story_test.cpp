// Every shared story, replayed through person actors, write queue actors,
// the supervisor and the memory writer: the actor wiring must produce the
// writes the scenario runner produces.
#include "story_player.hpp"

#include <gtest/gtest.h>

namespace presync::actors::testing {
namespace {

class Story : public actor_fixture,
              public ::testing::WithParamInterface<std::string> {};

TEST(StoryFolder, HoldsStories) {
  EXPECT_GE(story_files().size(), 10u);
}

TEST_P(Story, ActorsMakeExactlyTheExpectedWrites) {
  auto s = load_story(GetParam());
  ASSERT_TRUE(s.has_value());
  story_player player{*this, *s};

  auto r = player.play();

  EXPECT_EQ(sim::first_difference(*s, r), "") << s->description;
  EXPECT_EQ(counters(player.supervisor()).restarts, 0u);
}

TEST_P(Story, KillingEveryPersonMidStoryKeepsTheExpectedWrites) {
  auto s = load_story(GetParam());
  ASSERT_TRUE(s.has_value());
  // No back-off, so that the restart does not shift any instant.
  supervision_settings sup;
  sup.initial_backoff = duration{0};
  story_player player{*this, *s, sup};
  disturbance d;
  d.kill_at =
    s->steps.empty() ? s->end() / 2 : s->steps[s->steps.size() / 2].at;

  auto r = player.play(d);

  EXPECT_EQ(sim::first_difference(*s, r), "")
    << s->description << " (killed at " << format_duration(*d.kill_at) << ")";
  auto c = counters(player.supervisor());
  EXPECT_EQ(player.kills(), s->people.size());
  EXPECT_EQ(c.restarts, player.kills());
  EXPECT_EQ(c.poisoned, 0u);
}

TEST_P(Story, RestingWheneverIdleKeepsTheExpectedWrites) {
  auto s = load_story(GetParam());
  ASSERT_TRUE(s.has_value());
  // A sweep every second: a person rests after one to two idle seconds
  // and is woken by its next input or ahead of its next timer.
  supervision_settings sup;
  sup.rest_after = std::chrono::seconds{1};
  story_player player{*this, *s, sup};

  auto r = player.play();

  EXPECT_EQ(sim::first_difference(*s, r), "") << s->description;
  auto c = counters(player.supervisor());
  EXPECT_GE(c.rested, 1u) << "nobody rested: the test proves nothing";
  EXPECT_EQ(c.restarts, 0u);
  EXPECT_EQ(c.poisoned, 0u);
}

INSTANTIATE_TEST_SUITE_P(SharedScenarios, Story,
                         ::testing::ValuesIn(story_files()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return story_name(info.param);
                         });

} // namespace
} // namespace presync::actors::testing
