// A timed story about people whose status changes, and the writes the sync
// core must make in answer (../shared/scenarios/README.md has the format).
#pragma once

#include "protocol/journal.hpp"
#include "protocol/messages.hpp"
#include "protocol/rules.hpp"
#include "protocol/status.hpp"
#include "protocol/time.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace presync::sim {

struct scenario_person {
  std::string id;
  bool teams = true;
  bool connect = true;
  presence initial_teams{"PresenceUnknown", "PresenceUnknown"};
  std::string initial_connect{connect_states::offline};
};

/// One input of the story.
struct scenario_step {
  enum class kind : uint8_t { connect, teams, write_fails };

  duration at{0};
  kind what = kind::connect;
  std::string person;
  std::string state;            ///< connect: the effective state
  presence observed;            ///< teams: the presence Teams shows
  side fail_side = side::teams; ///< write_fails
  int fail_status = 0;
  std::optional<duration> retry_after;
};

/// A write (or refresh) the core must attempt.
struct expected_write {
  duration at{0};
  side to = side::teams;
  std::string person;
  std::string value;         ///< "Busy/InACall", "clear" or a status name
  std::optional<int> result; ///< the scripted failure, if it failed

  friend bool operator==(const expected_write&,
                         const expected_write&) = default;
};

/// A decision that must appear in a person's journal at an instant.
struct expected_decision {
  std::string person;
  duration at{0};
  decision what = decision::propagated;
};

struct scenario {
  std::string file;
  std::string description;
  bool fresh_start = false;
  std::optional<duration> until;
  sync_settings sync;
  std::vector<scenario_person> people;
  std::vector<scenario_step> steps;
  std::vector<expected_write> writes;
  bool only_these = true;
  std::optional<std::vector<expected_write>> refreshes;
  std::vector<expected_decision> journal;

  /// Returns the instant the clock runs to.
  duration end() const;
};

/// Loads one story. On failure, `problems` holds one line per problem, each
/// naming its path in the file (`steps[2].teams.presence: ...`).
std::optional<scenario> load_scenario(const std::string& file,
                                      std::vector<std::string>& problems);

/// Loads one story held in memory; `name` stands for the file in the
/// scenario and in problems.
std::optional<scenario> load_scenario_text(std::string_view text,
                                           const std::string& name,
                                           std::vector<std::string>& problems);

} // namespace presync::sim
