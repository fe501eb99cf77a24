#include "sim/workload.hpp"

#include <algorithm>
#include <array>
#include <cmath>

namespace presync::sim {

namespace {

using namespace std::chrono_literals;

// How often the rarer activities start, per person (means of exponential
// gaps), and how long they last. Chosen so that a 3-minute run of 1,000
// people shows every kind of change a few dozen times.
constexpr double status_interval_s = 15 * 60;
constexpr double flick_interval_s = 8 * 60;
constexpr double meeting_interval_s = 12 * 60;
constexpr double away_interval_s = 20 * 60;
constexpr double dnd_interval_s = 30 * 60;

constexpr double custom_status_mean_s = 3 * 60;
constexpr double meeting_mean_s = 90;
constexpr double away_mean_s = 2 * 60;
constexpr double dnd_mean_s = 2 * 60;

// Episodes that are not flicks last at least this long, so that they are
// clearly longer than a 15 s hold; one cut short by the wind-down is not
// started when less than this is left.
constexpr double min_episode_s = 30;
constexpr double max_episode_s = 15 * 60;

// Calls: ring time, the shortest talk and wrap-up, the miss rate.
constexpr double ring_min_s = 2;
constexpr double ring_max_s = 6;
constexpr double min_talk_s = 12;
constexpr double min_wrap_s = 5;
constexpr double miss_probability = 0.05;
constexpr double miss_ack_min_s = 3;
constexpr double miss_ack_max_s = 8;

// Flicks: a status or presence that lasts only a few seconds.
constexpr double flick_min_s = 2;
constexpr double flick_max_s = 8;
constexpr double meeting_flick_probability = 0.1;
constexpr double dnd_flick_probability = 0.2;

// A person takes at least this long between two activities.
constexpr double min_gap_s = 1;

constexpr std::array<std::string_view, 3> custom_statuses = {"Lunch", "Break",
                                                             "Training"};

constexpr std::string_view available_key = "Available/Available";
constexpr std::string_view meeting_key = "Busy/InAMeeting";
constexpr std::string_view away_key = "Away/Away";

double seconds_of(duration d) {
  return static_cast<double>(d.count()) / 1000.0;
}

duration ms_of(double seconds) {
  return duration{std::llround(seconds * 1000.0)};
}

/// Collects the actions of one person in the order they happen.
class person_schedule {
 public:
  person_schedule(std::vector<action>& out, int person)
    : out_(out), person_(person) {}

  void add(double at_s, action_kind kind, std::string_view value = {},
           int contact = -1) {
    action a;
    a.at = ms_of(at_s);
    a.kind = kind;
    a.person = person_;
    a.contact = contact;
    a.value = std::string{value};
    out_.push_back(std::move(a));
  }

 private:
  std::vector<action>& out_;
  int person_;
};

/// Draws one agent's Connect day: login, then calls, custom statuses and
/// flicks until `length`; numbers its calls from `next_contact`.
void draw_agent(const workload_params& p, random_source& rng, int person,
                int& next_contact, std::vector<action>& out) {
  person_schedule s(out, person);
  const double length = seconds_of(p.length);
  const double spread = std::min(20.0, length / 4);
  const double flick_max =
    std::min(flick_max_s, std::max(flick_min_s, seconds_of(p.min_hold) / 2));
  const double handle = seconds_of(p.handle_time);
  const double wrap = seconds_of(p.wrap_time);

  double t = rng.uniform(0, spread);
  s.add(t, action_kind::login);
  t += min_gap_s;
  while (true) {
    // Competing exponential clocks: whichever rings first happens.
    const double call_gap = rng.exponential(seconds_of(p.call_interval));
    const double status_gap = rng.exponential(status_interval_s);
    const double flick_gap = rng.exponential(flick_interval_s);
    const double gap = std::min({call_gap, status_gap, flick_gap});
    const double start = t + gap;
    if (start >= length) {
      return;
    }

    if (gap == call_gap) {
      const int contact = next_contact++;
      s.add(start, action_kind::offer_contact, {}, contact);
      const double rung = start + rng.uniform(ring_min_s, ring_max_s);
      if (rng.chance(miss_probability)) {
        s.add(rung, action_kind::miss_contact, {}, contact);
        t = rung + rng.uniform(miss_ack_min_s, miss_ack_max_s);
        s.add(t, action_kind::clear_contact, {}, contact);
      } else {
        s.add(rung, action_kind::connect_contact, {}, contact);
        const double talk =
          std::clamp(rng.lognormal(handle, 0.5), min_talk_s, 4 * handle);
        const double latest = std::max(length, rung) + handle;
        const double ended =
          std::max(rung + min_talk_s, std::min(rung + talk, latest));
        s.add(ended, action_kind::end_contact, {}, contact);
        const double wrapped =
          std::clamp(rng.lognormal(wrap, 0.5), min_wrap_s, 4 * wrap);
        t = ended + wrapped;
        s.add(t, action_kind::clear_contact, {}, contact);
      }
    } else if (gap == status_gap) {
      const auto pick = static_cast<std::size_t>(
        rng.uniform(0, static_cast<double>(custom_statuses.size())));
      const double lasts = std::clamp(rng.lognormal(custom_status_mean_s, 0.5),
                                      min_episode_s, max_episode_s);
      if (start + min_episode_s > length) {
        t = start;
        continue;
      }
      s.add(start, action_kind::set_status, custom_statuses[pick]);
      t = std::min(start + lasts, length);
      s.add(t, action_kind::set_status, "Available");
    } else {
      const auto pick = static_cast<std::size_t>(
        rng.uniform(0, static_cast<double>(custom_statuses.size())));
      s.add(start, action_kind::set_status, custom_statuses[pick]);
      t = start + rng.uniform(flick_min_s, flick_max);
      s.add(t, action_kind::set_status, "Available");
    }
    t += min_gap_s;
  }
}

/// Draws one person's Teams day: meetings, idle Away and DoNotDisturb.
void draw_teams_user(const workload_params& p, random_source& rng, int person,
                     std::vector<action>& out) {
  person_schedule s(out, person);
  const double length = seconds_of(p.length);
  const double flick_max =
    std::min(flick_max_s, std::max(flick_min_s, seconds_of(p.min_hold) / 2));

  double t = 0;
  while (true) {
    const double meeting_gap = rng.exponential(meeting_interval_s);
    const double away_gap = rng.exponential(away_interval_s);
    const double dnd_gap = rng.exponential(dnd_interval_s);
    const double gap = std::min({meeting_gap, away_gap, dnd_gap});
    const double start = t + gap;
    if (start >= length) {
      return;
    }

    // Draw the episode's length first so the draws per episode stay fixed.
    const bool is_meeting = gap == meeting_gap;
    const bool is_dnd = !is_meeting && gap == dnd_gap;
    const double flick_p = is_meeting ? meeting_flick_probability
                                      : (is_dnd ? dnd_flick_probability : 0.0);
    const bool flick = rng.chance(flick_p);
    const double mean =
      is_meeting ? meeting_mean_s : (is_dnd ? dnd_mean_s : away_mean_s);
    const double lasts = flick ? rng.uniform(flick_min_s, flick_max)
                               : std::clamp(rng.lognormal(mean, 0.6),
                                            min_episode_s, max_episode_s);
    if (!flick && start + min_episode_s > length) {
      t = start;
      continue;
    }
    const double end = flick ? start + lasts : std::min(start + lasts, length);

    if (is_dnd) {
      s.add(start, action_kind::dnd_on, "DoNotDisturb/DoNotDisturb");
      s.add(end, action_kind::dnd_off, available_key);
    } else {
      s.add(start, action_kind::teams_client,
            is_meeting ? meeting_key : away_key);
      s.add(end, action_kind::teams_client, available_key);
    }
    t = end + min_gap_s;
  }
}

} // namespace

std::string_view to_string(action_kind k) {
  switch (k) {
  case action_kind::login:
    return "login";
  case action_kind::offer_contact:
    return "offer_contact";
  case action_kind::connect_contact:
    return "connect_contact";
  case action_kind::end_contact:
    return "end_contact";
  case action_kind::miss_contact:
    return "miss_contact";
  case action_kind::clear_contact:
    return "clear_contact";
  case action_kind::set_status:
    return "set_status";
  case action_kind::teams_client:
    return "teams_client";
  case action_kind::dnd_on:
    return "dnd_on";
  case action_kind::dnd_off:
    return "dnd_off";
  }
  return "unknown";
}

random_source::random_source(std::uint64_t seed) : engine_(seed) {}

double random_source::uniform() {
  // The top 53 bits give every double of [0, 1) with a 2^-53 step.
  return static_cast<double>(engine_() >> 11) * 0x1.0p-53;
}

double random_source::uniform(double lo, double hi) {
  return lo + (hi - lo) * uniform();
}

double random_source::exponential(double mean) {
  return -mean * std::log1p(-uniform());
}

double random_source::lognormal(double mean, double sigma) {
  // Box-Muller for one standard normal draw; 1 - u keeps log away from 0.
  const double u1 = 1.0 - uniform();
  const double u2 = uniform();
  const double z = std::sqrt(-2.0 * std::log(u1)) *
                   std::cos(2.0 * 3.14159265358979323846 * u2);

  // E[exp(mu + sigma z)] = exp(mu + sigma^2 / 2) = mean.
  const double mu = std::log(mean) - sigma * sigma / 2;
  return std::exp(mu + sigma * z);
}

bool random_source::chance(double p) {
  return uniform() < p;
}

std::vector<action> make_workload(const workload_params& p) {
  std::vector<action> out;
  random_source rng(p.seed);
  int next_contact = 0;
  for (int i = 0; i < p.agents; ++i) {
    draw_agent(p, rng, i, next_contact, out);
    draw_teams_user(p, rng, i, out);
  }
  for (int i = 0; i < p.office_users; ++i) {
    draw_teams_user(p, rng, p.agents + i, out);
  }
  std::stable_sort(
    out.begin(), out.end(),
    [](const action& a, const action& b) { return a.at < b.at; });
  return out;
}

workload_summary summarize(const std::vector<action>& actions) {
  workload_summary s;
  for (const auto& a : actions) {
    switch (a.kind) {
    case action_kind::login:
      ++s.logins;
      break;
    case action_kind::offer_contact:
      ++s.calls;
      break;
    case action_kind::miss_contact:
      ++s.missed;
      break;
    case action_kind::set_status:
      ++s.status_changes;
      break;
    case action_kind::teams_client:
    case action_kind::dnd_on:
    case action_kind::dnd_off:
      ++s.teams_changes;
      break;
    default:
      break;
    }
    s.last = std::max(s.last, a.at);
  }
  return s;
}

} // namespace presync::sim
