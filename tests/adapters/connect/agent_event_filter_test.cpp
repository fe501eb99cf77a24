#include "adapters/connect/agent_event_filter.hpp"

#include "fixture.hpp"

#include <gtest/gtest.h>

using namespace presync::connect;
using presync::connect::testing::read_fixture;

namespace {

agent_event make_event(std::string id, agent_event_type type, int64_t ms,
                       std::string user = "u-1") {
  agent_event e;
  e.event_id = std::move(id);
  e.event_type = type;
  e.timestamp_ms = ms;
  e.user_id = std::move(user);
  return e;
}

constexpr auto login = agent_event_type::login;
constexpr auto logout = agent_event_type::logout;
constexpr auto change = agent_event_type::state_change;
constexpr auto heartbeat = agent_event_type::heart_beat;

} // namespace

TEST(AgentEventFilter, AppliesTheFixtureDayInOrder) {
  agent_event_filter filter;
  const char* day[] = {
    "agent-event-login.json",
    "agent-event-state-change-available.json",
    "agent-event-contact-connected.json",
    "agent-event-after-contact-work.json",
    "agent-event-state-change-custom.json",
    "agent-event-heartbeat.json",
    "agent-event-logout.json",
  };

  for (auto name : day) {
    auto e = parse_agent_event(read_fixture(name));
    ASSERT_TRUE(e) << name;
    EXPECT_EQ(filter.offer(e.value()), filter_verdict::apply) << name;
  }
}

TEST(AgentEventFilter, DropsARepeatedEventId) {
  agent_event_filter filter;

  auto first = filter.offer(make_event("a", change, 1000));
  auto again = filter.offer(make_event("a", change, 1000));

  EXPECT_EQ(first, filter_verdict::apply);
  EXPECT_EQ(again, filter_verdict::duplicate);
}

TEST(AgentEventFilter, DropsAnEventOlderThanTheNewestApplied) {
  agent_event_filter filter;

  filter.offer(make_event("b", change, 2000));
  auto older = filter.offer(make_event("a", change, 1999));
  auto same_time = filter.offer(make_event("c", change, 2000));

  EXPECT_EQ(older, filter_verdict::stale);
  EXPECT_EQ(same_time, filter_verdict::apply);
}

TEST(AgentEventFilter, HeartbeatAfterLogoutDoesNotBringTheAgentBack) {
  agent_event_filter filter;
  filter.offer(make_event("l", logout, 1000));

  auto beat = filter.offer(make_event("h1", heartbeat, 121000));
  auto beat_later = filter.offer(make_event("h2", heartbeat, 241000));
  auto back = filter.offer(make_event("in", login, 300000));
  auto beat_logged_in = filter.offer(make_event("h3", heartbeat, 420000));

  EXPECT_EQ(beat, filter_verdict::after_logout);
  EXPECT_EQ(beat_later, filter_verdict::after_logout);
  EXPECT_EQ(back, filter_verdict::apply);
  EXPECT_EQ(beat_logged_in, filter_verdict::apply);
}

TEST(AgentEventFilter, KeepsAgentsApart) {
  agent_event_filter filter;
  filter.offer(make_event("x", change, 5000, "u-1"));

  auto other_agent_older = filter.offer(make_event("y", change, 1000, "u-2"));
  auto same_id_other_agent = filter.offer(make_event("x", change, 6000, "u-2"));

  EXPECT_EQ(other_agent_older, filter_verdict::apply);
  EXPECT_EQ(same_id_other_agent, filter_verdict::apply);
  EXPECT_EQ(filter.tracked_agents(), 2u);
}

TEST(AgentEventFilter, RemembersAtMostTheConfiguredNumberOfIds) {
  agent_event_filter filter{3};

  for (int i = 0; i < 10; ++i) {
    filter.offer(make_event("e" + std::to_string(i), change, 1000 + i));
  }

  EXPECT_EQ(filter.remembered_ids("u-1"), 3u);
}

TEST(AgentEventFilter, DropsAForgottenDuplicateAsStale) {
  agent_event_filter filter{2};
  filter.offer(make_event("e0", change, 1000));
  filter.offer(make_event("e1", change, 1001));
  filter.offer(make_event("e2", change, 1002));

  auto old_duplicate = filter.offer(make_event("e0", change, 1000));

  EXPECT_EQ(old_duplicate, filter_verdict::stale);
}

TEST(AgentEventFilter, ForgetsAnAgent) {
  agent_event_filter filter;
  filter.offer(make_event("a", change, 5000));

  filter.forget("u-1");
  auto older_after_forget = filter.offer(make_event("b", change, 1000));

  EXPECT_EQ(older_after_forget, filter_verdict::apply);
}

TEST(AgentEventFilter, NamesItsVerdicts) {
  EXPECT_EQ(to_string(filter_verdict::apply), "apply");
  EXPECT_EQ(to_string(filter_verdict::duplicate), "duplicate");
  EXPECT_EQ(to_string(filter_verdict::stale), "stale");
  EXPECT_EQ(to_string(filter_verdict::after_logout), "after_logout");
}
