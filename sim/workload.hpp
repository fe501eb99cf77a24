// The demo's contact centre as a schedule: who logs in, takes a call, picks
// a status, joins a meeting or sets DoNotDisturb, and when. Pure: a seed,
// the sizes and the means go in, a time-ordered list of actions comes out;
// `presync demo` performs them against the emulators' control APIs.
//
// Everything is drawn from one seeded PRNG (std::mt19937_64, whose output
// the standard fixes) through our own exponential, log-normal and uniform
// transforms, so a seed gives the same schedule with every standard library.
#pragma once

#include "protocol/time.hpp"

#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace presync::sim {

/// Sizes and means of one demo run.
struct workload_params {
  std::uint64_t seed = 1;
  int agents = 200;       ///< people in Teams and Connect
  int office_users = 800; ///< people in Teams only
  /// How long new activity starts; running calls end after it.
  duration length = std::chrono::minutes{3};
  /// Mean idle time of an agent before the next call rings (Poisson).
  duration call_interval = std::chrono::seconds{60};
  /// Mean talk time of a call.
  duration handle_time = std::chrono::seconds{45};
  /// Mean after-contact work.
  duration wrap_time = std::chrono::seconds{15};
  /// presync's min_hold: flicks are kept well below it, and calls above it.
  duration min_hold = std::chrono::seconds{15};
};

/// What one action does. Agents are people 0..agents-1; office users
/// follow.
enum class action_kind : std::uint8_t {
  login,           ///< the agent logs in to Connect, Available
  offer_contact,   ///< an inbound call rings (contact CONNECTING)
  connect_contact, ///< the agent answers (CONNECTED)
  end_contact,     ///< the caller hangs up: after-contact work (ENDED)
  miss_contact,    ///< nobody answered (MISSED)
  clear_contact,   ///< after-contact work done, or the miss acknowledged
  set_status,      ///< the agent picks an agent status (`value`)
  teams_client,    ///< the user's Teams client shows `value` (Avail/Activity)
  dnd_on,          ///< the user sets DoNotDisturb as preferred presence
  dnd_off,         ///< the user clears the preferred presence
};

/// Returns the action's name, e.g. "offer_contact".
std::string_view to_string(action_kind k);

/// One step of the schedule.
struct action {
  duration at{0}; ///< offset from the start of the workload
  action_kind kind = action_kind::login;
  int person = 0;    ///< agents first, then office users
  int contact = -1;  ///< the call's serial number, for contact actions
  std::string value; ///< status name, or presence "Availability/Activity"
};

/// Draws the schedule of `p`: sorted by time; actions of one person are in
/// the order that person performs them.
///
/// - Agents log in over the first seconds, then alternate idle time and
///   activities: calls arrive as a Poisson process (mean gap
///   call_interval); a call rings 2-6 s, is answered (or, one in twenty,
///   missed and acknowledged a few seconds later), lasts a log-normal talk
///   time (mean handle_time, at least 12 s) and after-contact work (mean
///   wrap_time, at least 5 s). Now and then an agent takes Lunch, Break or
///   Training for minutes, or flicks a status for 2-8 s (never as long as
///   min_hold / 2).
/// - Every Teams user joins meetings, goes idle to Away and sets
///   DoNotDisturb, each episode log-normal in length; one meeting in ten
///   and one DoNotDisturb in five are flicks of a few seconds.
/// - Wind-down at `length`: no call, status, meeting or flick starts;
///   custom statuses go back to Available, meetings and Away end, DND is
///   cleared. Calls in progress end by `length + handle_time` and are
///   cleared after their wrap-up.
std::vector<action> make_workload(const workload_params& p);

/// Counts of a schedule, for the demo's banner and for tests.
struct workload_summary {
  int logins = 0;
  int calls = 0;
  int missed = 0;
  int status_changes = 0; ///< set_status actions, returns included
  int teams_changes = 0;  ///< teams_client, dnd_on and dnd_off
  duration last{0};       ///< time of the last action
};

/// Returns the counts of `actions`.
workload_summary summarize(const std::vector<action>& actions);

/// A small deterministic random source: std::mt19937_64 plus transforms
/// whose results do not depend on the standard library.
class random_source {
 public:
  explicit random_source(std::uint64_t seed);

  /// Returns a double in [0, 1).
  double uniform();
  /// Returns a double in [lo, hi).
  double uniform(double lo, double hi);
  /// Returns an exponential draw with mean `mean`.
  double exponential(double mean);
  /// Returns a log-normal draw with mean `mean` and log-space deviation
  /// `sigma`.
  double lognormal(double mean, double sigma);
  /// Returns true with probability `p`.
  bool chance(double p);

 private:
  std::mt19937_64 engine_;
};

} // namespace presync::sim
