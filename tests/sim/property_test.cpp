// Random stories through the whole tenant core, checked against invariants
// that every story must keep (DESIGN.md §4): no redundant writes, every
// Teams write is the projection of the Connect state of that moment, and
// once the inputs stop every session converges to that projection.
#include "sim/runner.hpp"
#include "sim/scenario.hpp"

#include <gtest/gtest.h>

#include <random>

using namespace std::chrono_literals;

namespace presync::sim {
namespace {

constexpr std::array<const char*, 9> connect_states = {
  "Available", "OnContact", "Incoming",  "AfterContactWork", "Lunch",
  "Break",     "Missed",    "LoggedOut", "Offline",
};

constexpr std::array<const char*, 9> teams_presences = {
  "Available/Available", "Busy/InAMeeting", "Busy/InACall",
  "Busy/Busy",           "Away/Away",       "DoNotDisturb/Presenting",
  "BeRightBack",         "Offline/OffWork", "Busy/InAConferenceCall",
};

enum class failures { none, retryable, any };

/// Builds a story of `people` persons and `steps` random inputs.
scenario random_story(std::mt19937& rng, int people, int steps,
                      failures kinds) {
  auto pick = [&](const auto& list) {
    return list[std::uniform_int_distribution<size_t>{0, list.size() - 1}(rng)];
  };
  scenario s;
  s.fresh_start = rng() % 4 == 0;
  for (int i = 0; i < people; ++i) {
    scenario_person p;
    p.id = "p" + std::to_string(i);
    p.initial_connect = pick(connect_states);
    p.initial_teams = *parse_presence(pick(teams_presences));
    s.people.push_back(p);
  }
  duration t{0};
  for (int i = 0; i < steps; ++i) {
    t += duration{std::uniform_int_distribution<int64_t>{0, 40'000}(rng)};
    scenario_step step;
    step.at = t;
    step.person = s.people[rng() % s.people.size()].id;
    auto roll = rng() % 20;
    if (kinds == failures::none && roll >= 18) {
      roll = rng() % 18;
    }
    if (roll < 9) {
      step.what = scenario_step::kind::connect;
      step.state = pick(connect_states);
    } else if (roll < 18) {
      step.what = scenario_step::kind::teams;
      step.observed = *parse_presence(pick(teams_presences));
    } else {
      step.what = scenario_step::kind::write_fails;
      step.fail_side = rng() % 2 ? side::teams : side::connect;
      auto statuses = std::array{429, 503, 400, 404};
      step.fail_status = statuses[rng() % (kinds == failures::any ? 4u : 2u)];
      step.retry_after = duration{(rng() % 30) * 1000};
    }
    s.steps.push_back(step);
  }
  s.until = t + 2h;
  return s;
}

std::string projection(const sync_settings& s, const std::string& state) {
  auto target = s.connect_to_teams.lookup(state);
  return target ? target->describe() : "";
}

/// Returns the Connect state of `person` at instant `at` (inputs at the
/// same instant applied).
std::string state_at(const scenario& s, const std::string& person,
                     duration at) {
  std::string state;
  for (const auto& p : s.people) {
    if (p.id == person) {
      state = p.initial_connect;
    }
  }
  for (const auto& step : s.steps) {
    if (step.at <= at && step.person == person &&
        step.what == scenario_step::kind::connect) {
      state = step.state;
    }
  }
  return state;
}

/// Returns the Teams values each person's session showed, in order, after
/// checking that no write repeated what the session already showed.
std::map<std::string, std::string> replay_sessions(const scenario& s,
                                                   const replay& r) {
  std::map<std::string, std::string> session;
  for (const auto& p : s.people) {
    if (!s.fresh_start) {
      session[p.id] = projection(s.sync, p.initial_connect);
    }
  }
  for (const auto& w : r.writes) {
    if (w.to == side::teams && !w.result) {
      EXPECT_NE(w.value, session[w.person]) << "redundant " << describe(w);
      session[w.person] = w.value;
    }
  }
  return session;
}

void expect_converged(const scenario& s,
                      std::map<std::string, std::string>& session) {
  for (const auto& p : s.people) {
    auto want = projection(s.sync, state_at(s, p.id, *s.until));
    EXPECT_EQ(session[p.id], want) << p.id << " did not converge";
  }
}

TEST(RandomStories, EveryTeamsWriteProjectsTheConnectStateOfItsMoment) {
  std::mt19937 rng{20261204};
  for (int round = 0; round < 300; ++round) {
    auto s =
      random_story(rng, 1 + static_cast<int>(rng() % 4), 60, failures::none);
    SCOPED_TRACE("round " + std::to_string(round));

    auto r = run_scenario(s);

    for (const auto& w : r.writes) {
      // Timers fire before the steps of their instant: a write at t saw
      // the state from just before t.
      auto state = state_at(s, w.person, w.at - 1ms);
      if (w.to == side::teams) {
        EXPECT_EQ(w.value, projection(s.sync, state))
          << describe(w) << " while Connect was " << state;
      }
    }
    auto session = replay_sessions(s, r);
    expect_converged(s, session);
  }
}

TEST(RandomStories, ThrottledWritesStillConverge) {
  std::mt19937 rng{7};
  for (int round = 0; round < 300; ++round) {
    auto s = random_story(rng, 1 + static_cast<int>(rng() % 4), 60,
                          failures::retryable);
    SCOPED_TRACE("round " + std::to_string(round));

    auto r = run_scenario(s);

    auto session = replay_sessions(s, r);
    expect_converged(s, session);
  }
}

TEST(RandomStories, GivenUpWritesAreNeverRepeated) {
  std::mt19937 rng{99};
  for (int round = 0; round < 300; ++round) {
    auto s =
      random_story(rng, 1 + static_cast<int>(rng() % 4), 60, failures::any);
    SCOPED_TRACE("round " + std::to_string(round));

    auto r = run_scenario(s);

    replay_sessions(s, r);
  }
}

} // namespace
} // namespace presync::sim
