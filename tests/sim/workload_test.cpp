// The demo workload generator: deterministic, realistic in its means, and
// every story it starts ends before the demo stops.
#include "sim/workload.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>

namespace presync::sim {
namespace {

using namespace std::chrono_literals;

workload_params small_run(std::uint64_t seed = 1) {
  workload_params p;
  p.seed = seed;
  p.agents = 40;
  p.office_users = 60;
  p.length = 5min;
  return p;
}

bool same_action(const action& a, const action& b) {
  return a.at == b.at && a.kind == b.kind && a.person == b.person &&
         a.contact == b.contact && a.value == b.value;
}

/// Returns the actions of one contact, in schedule order.
std::map<int, std::vector<const action*>>
by_contact(const std::vector<action>& actions) {
  std::map<int, std::vector<const action*>> out;
  for (const auto& a : actions) {
    if (a.contact >= 0) {
      out[a.contact].push_back(&a);
    }
  }
  return out;
}

double mean_of(const std::vector<double>& v) {
  double sum = 0;
  for (double x : v) {
    sum += x;
  }
  return v.empty() ? 0 : sum / static_cast<double>(v.size());
}

TEST(Workload, SameSeedGivesSameSchedule) {
  const auto a = make_workload(small_run(7));
  const auto b = make_workload(small_run(7));

  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    ASSERT_TRUE(same_action(a[i], b[i])) << "action " << i;
  }
}

TEST(Workload, OtherSeedGivesOtherSchedule) {
  const auto a = make_workload(small_run(7));
  const auto b = make_workload(small_run(8));

  bool differs = a.size() != b.size();
  for (std::size_t i = 0; !differs && i < a.size(); ++i) {
    differs = !same_action(a[i], b[i]);
  }
  EXPECT_TRUE(differs);
}

TEST(Workload, FirstDrawsOfSeedOneArePinned) {
  // A regression pin, recorded from this implementation: std::mt19937_64
  // is fixed by the standard, so only a change to our transforms moves
  // these, and with them every demo's figures for a given seed.
  random_source rng(1);

  EXPECT_NEAR(rng.uniform(), 0.133876644, 1e-9);
  EXPECT_NEAR(rng.exponential(10.0), 1.466537281, 1e-9);
}

TEST(Workload, ScheduleIsTimeOrdered) {
  const auto actions = make_workload(small_run());

  for (std::size_t i = 1; i < actions.size(); ++i) {
    ASSERT_LE(actions[i - 1].at, actions[i].at) << "action " << i;
  }
}

TEST(Workload, EveryAgentLogsInOnceBeforeAnythingElse) {
  const auto p = small_run();
  const auto actions = make_workload(p);

  std::map<int, int> logins;
  for (const auto& a : actions) {
    if (a.person >= p.agents) {
      continue;
    }
    const bool connect_action = a.kind != action_kind::teams_client &&
                                a.kind != action_kind::dnd_on &&
                                a.kind != action_kind::dnd_off;
    if (a.kind == action_kind::login) {
      ++logins[a.person];
      EXPECT_LT(a.at, 21s);
    } else if (connect_action) {
      EXPECT_EQ(logins[a.person], 1) << to_string(a.kind);
    }
  }
  EXPECT_EQ(logins.size(), static_cast<std::size_t>(p.agents));
}

TEST(Workload, OfficeUsersOnlyChangeTeams) {
  const auto p = small_run();
  const auto actions = make_workload(p);

  int office_actions = 0;
  for (const auto& a : actions) {
    if (a.person >= p.agents) {
      ++office_actions;
      EXPECT_TRUE(a.kind == action_kind::teams_client ||
                  a.kind == action_kind::dnd_on ||
                  a.kind == action_kind::dnd_off);
      EXPECT_LT(a.person, p.agents + p.office_users);
    }
  }
  EXPECT_GT(office_actions, 0);
}

TEST(Workload, EveryContactEnds) {
  const auto p = small_run();
  const auto actions = make_workload(p);

  const auto contacts = by_contact(actions);
  ASSERT_GT(contacts.size(), 50u);
  for (const auto& [id, steps] : contacts) {
    std::vector<action_kind> kinds;
    for (const auto* a : steps) {
      kinds.push_back(a->kind);
      EXPECT_EQ(a->person, steps.front()->person);
    }
    const std::vector<action_kind> answered = {
      action_kind::offer_contact, action_kind::connect_contact,
      action_kind::end_contact, action_kind::clear_contact};
    const std::vector<action_kind> missed = {action_kind::offer_contact,
                                             action_kind::miss_contact,
                                             action_kind::clear_contact};
    EXPECT_TRUE(kinds == answered || kinds == missed) << "contact " << id;
    EXPECT_LT(steps.front()->at, p.length);
    EXPECT_LE(steps.back()->at, p.length + p.handle_time + 4 * p.wrap_time);
  }
}

TEST(Workload, AnAgentHoldsOneCallAtATime) {
  const auto p = small_run();
  const auto actions = make_workload(p);

  std::map<int, int> open;
  for (const auto& a : actions) {
    if (a.kind == action_kind::offer_contact) {
      EXPECT_EQ(open[a.person]++, 0) << "agent " << a.person;
    } else if (a.kind == action_kind::clear_contact) {
      --open[a.person];
    } else if (a.kind == action_kind::set_status) {
      EXPECT_EQ(open[a.person], 0) << "status change during a call";
    }
  }
}

TEST(Workload, CallsLastLongerThanTheHold) {
  const auto p = small_run();
  const auto actions = make_workload(p);

  for (const auto& [id, steps] : by_contact(actions)) {
    if (steps[1]->kind == action_kind::connect_contact) {
      EXPECT_GE(steps.back()->at - steps.front()->at, p.min_hold + 4s);
    } else {
      EXPECT_LT(steps.back()->at - steps.front()->at, p.min_hold);
    }
  }
}

TEST(Workload, WindDownLeavesNoMeetingNoDndNoCustomStatus) {
  const auto p = small_run();
  const auto actions = make_workload(p);

  std::map<int, std::string> teams_client;
  std::map<int, bool> dnd;
  std::map<int, std::string> status;
  for (const auto& a : actions) {
    switch (a.kind) {
    case action_kind::teams_client:
      teams_client[a.person] = a.value;
      break;
    case action_kind::dnd_on:
      dnd[a.person] = true;
      break;
    case action_kind::dnd_off:
      dnd[a.person] = false;
      break;
    case action_kind::set_status:
      status[a.person] = a.value;
      break;
    default:
      break;
    }
  }
  for (const auto& [person, value] : teams_client) {
    EXPECT_EQ(value, "Available/Available") << "person " << person;
  }
  for (const auto& [person, on] : dnd) {
    EXPECT_FALSE(on) << "person " << person;
  }
  for (const auto& [person, value] : status) {
    EXPECT_EQ(value, "Available") << "agent " << person;
  }
}

TEST(Workload, NothingStartsAfterTheEnd) {
  const auto p = small_run();
  const auto actions = make_workload(p);

  for (const auto& a : actions) {
    const bool starts =
      a.kind == action_kind::offer_contact || a.kind == action_kind::dnd_on ||
      (a.kind == action_kind::teams_client &&
       a.value != "Available/Available") ||
      (a.kind == action_kind::set_status && a.value != "Available");
    if (starts) {
      EXPECT_LT(a.at, p.length) << to_string(a.kind);
    }
  }
}

TEST(Workload, FlicksStayWellBelowTheHold) {
  const auto p = small_run();
  const auto actions = make_workload(p);

  // Every non-Available stretch of a status or a Teams client is either a
  // flick (at most 8 s) or a real episode (at least 30 s, or cut at the
  // end of the run).
  std::map<std::pair<int, bool>, duration> since;
  int flicks = 0;
  for (const auto& a : actions) {
    const bool is_status = a.kind == action_kind::set_status;
    const bool is_teams = a.kind == action_kind::teams_client ||
                          a.kind == action_kind::dnd_on ||
                          a.kind == action_kind::dnd_off;
    if (!is_status && !is_teams) {
      continue;
    }
    const bool back =
      a.value == "Available" || a.value == "Available/Available";
    const auto key = std::make_pair(a.person, is_status);
    if (!back) {
      since[key] = a.at;
      continue;
    }
    const duration lasted = a.at - since[key];
    if (lasted < 30s) {
      ++flicks;
      EXPECT_LE(lasted, 8s);
      EXPECT_GE(lasted, 2s);
    }
  }
  EXPECT_GT(flicks, 5);
}

TEST(Workload, TalkAndWrapMeansFollowTheFlags) {
  workload_params p;
  p.agents = 300;
  p.office_users = 0;
  p.length = 2h;
  p.handle_time = 45s;
  p.wrap_time = 15s;
  const auto actions = make_workload(p);

  std::vector<double> talk;
  std::vector<double> wrap;
  for (const auto& [id, steps] : by_contact(actions)) {
    if (steps.size() == 4 && steps.back()->at < p.length) {
      talk.push_back(
        static_cast<double>((steps[2]->at - steps[1]->at).count()) / 1000);
      wrap.push_back(
        static_cast<double>((steps[3]->at - steps[2]->at).count()) / 1000);
    }
  }
  ASSERT_GT(talk.size(), 5000u);
  EXPECT_NEAR(mean_of(talk), 45.0, 45.0 * 0.05);
  EXPECT_NEAR(mean_of(wrap), 15.0, 15.0 * 0.05);
}

TEST(Workload, CallsArriveAtTheConfiguredRate) {
  workload_params p;
  p.agents = 300;
  p.office_users = 0;
  p.length = 2h;
  p.call_interval = 60s;
  const auto actions = make_workload(p);

  // Idle time before a call: from the end of the agent's previous activity
  // (plus the 1 s pause) to the ring. Other activities interrupt some idle
  // stretches, which only shortens the gaps seen before calls, so compare
  // with the competing-clock mean 1 / (1/60 + 1/900 + 1/480) s.
  std::map<int, duration> free_since;
  std::vector<double> gaps;
  for (const auto& a : actions) {
    if (a.kind == action_kind::teams_client || a.kind == action_kind::dnd_on ||
        a.kind == action_kind::dnd_off) {
      continue;
    }
    if (a.kind == action_kind::offer_contact && free_since.count(a.person)) {
      gaps.push_back(
        static_cast<double>((a.at - free_since[a.person]).count()) / 1000 -
        1.0);
    }
    if (a.kind == action_kind::clear_contact || a.kind == action_kind::login ||
        (a.kind == action_kind::set_status && a.value == "Available")) {
      free_since[a.person] = a.at;
    } else {
      free_since.erase(a.person);
    }
  }
  const double expected = 1.0 / (1.0 / 60 + 1.0 / 900 + 1.0 / 480);
  ASSERT_GT(gaps.size(), 5000u);
  EXPECT_NEAR(mean_of(gaps), expected, expected * 0.05);
}

TEST(Workload, RandomSourceMeans) {
  random_source rng(42);
  constexpr int n = 200000;

  double uniform = 0;
  double exponential = 0;
  double lognormal = 0;
  int heads = 0;
  for (int i = 0; i < n; ++i) {
    uniform += rng.uniform(2, 6);
    exponential += rng.exponential(60);
    lognormal += rng.lognormal(45, 0.5);
    heads += rng.chance(0.05) ? 1 : 0;
  }
  EXPECT_NEAR(uniform / n, 4.0, 0.02);
  EXPECT_NEAR(exponential / n, 60.0, 60 * 0.01);
  EXPECT_NEAR(lognormal / n, 45.0, 45 * 0.01);
  EXPECT_NEAR(static_cast<double>(heads) / n, 0.05, 0.003);
}

TEST(Workload, SummaryCountsTheSchedule) {
  std::vector<action> actions(5);
  actions[0].kind = action_kind::login;
  actions[1].kind = action_kind::offer_contact;
  actions[2].kind = action_kind::miss_contact;
  actions[3].kind = action_kind::dnd_on;
  actions[4].kind = action_kind::set_status;
  actions[4].at = 42s;

  const auto s = summarize(actions);

  EXPECT_EQ(s.logins, 1);
  EXPECT_EQ(s.calls, 1);
  EXPECT_EQ(s.missed, 1);
  EXPECT_EQ(s.teams_changes, 1);
  EXPECT_EQ(s.status_changes, 1);
  EXPECT_EQ(s.last, 42s);
}

} // namespace
} // namespace presync::sim
