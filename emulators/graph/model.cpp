#include "emulators/graph/model.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>

namespace presync::graph_emulator {

namespace {

constexpr millis minute_ms = 60 * 1000;

bool iequals(const std::string& a, const std::string& b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// Ranks availabilities for "the strongest session wins" (section 4.1):
// DoNotDisturb > Busy > Available > Away; idle variants sit just below
// their base state.
int strength(const std::string& availability) {
  static const std::pair<const char*, int> ranks[] = {
    {"DoNotDisturb", 60},  {"Busy", 50}, {"BusyIdle", 45},    {"Available", 40},
    {"AvailableIdle", 35}, {"Away", 30}, {"BeRightBack", 25},
  };
  for (const auto& [name, rank] : ranks) {
    if (availability == name) {
      return rank;
    }
  }
  return 0;
}

std::string pad_number(std::uint64_t n, int width) {
  std::string s = std::to_string(n);
  if (static_cast<int>(s.size()) < width) {
    s.insert(0, static_cast<std::size_t>(width) - s.size(), '0');
  }
  return s;
}

} // namespace

emulator_clock::emulator_clock(bool real_time)
  : real_time_(real_time),
    start_wall_(std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count()),
    start_steady_(std::chrono::steady_clock::now()) {}

millis emulator_clock::now() const {
  millis elapsed = 0;
  if (real_time_) {
    elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::steady_clock::now() - start_steady_)
                .count();
  }
  return start_wall_ + elapsed + offset_;
}

std::string format_time(millis t, bool with_millis) {
  std::time_t secs = static_cast<std::time_t>(t / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out = buf;
  if (with_millis) {
    char frac[8];
    std::snprintf(frac, sizeof frac, ".%03d", static_cast<int>(t % 1000));
    out += frac;
  }
  return out + "Z";
}

std::optional<millis> parse_duration(const std::string& text) {
  // P[nD][T[nH][nM][nS]] with integer parts; enough for Graph's uses.
  if (text.size() < 3 || (text[0] != 'P' && text[0] != 'p')) {
    return std::nullopt;
  }
  millis total = 0;
  bool in_time = false;
  bool any = false;
  std::size_t i = 1;
  while (i < text.size()) {
    char c =
      static_cast<char>(std::toupper(static_cast<unsigned char>(text[i])));
    if (c == 'T') {
      if (in_time) {
        return std::nullopt;
      }
      in_time = true;
      ++i;
      continue;
    }
    std::size_t start = i;
    while (i < text.size() &&
           std::isdigit(static_cast<unsigned char>(text[i]))) {
      ++i;
    }
    if (start == i || i == text.size() || i - start > 9) {
      return std::nullopt;
    }
    millis n = std::stoll(text.substr(start, i - start));
    char unit =
      static_cast<char>(std::toupper(static_cast<unsigned char>(text[i])));
    ++i;
    if (!in_time && unit == 'D') {
      total += n * 24 * 60 * minute_ms;
    } else if (in_time && unit == 'H') {
      total += n * 60 * minute_ms;
    } else if (in_time && unit == 'M') {
      total += n * minute_ms;
    } else if (in_time && unit == 'S') {
      total += n * 1000;
    } else {
      return std::nullopt;
    }
    any = true;
  }
  if (!any) {
    return std::nullopt;
  }
  return total;
}

bool is_teams_user(const user_record& u) {
  return u.account_enabled && u.has_licence && !u.teams_plan_disabled &&
         (u.teams_plan_status == "Enabled" || u.teams_plan_status == "Warning");
}

std::optional<presence_pair> effective_session(const app_session& s,
                                               millis now) {
  if (now >= s.expires_at) {
    return std::nullopt;
  }
  if (s.requested.availability != "Available") {
    return s.requested;
  }
  millis idle = now - s.last_set;
  if (idle >= 10 * minute_ms) {
    return presence_pair{"Away", "Away"};
  }
  if (idle >= 5 * minute_ms) {
    return presence_pair{"Available", "AvailableInactive"};
  }
  return s.requested;
}

presence_pair aggregate(const presence_state& p, millis now) {
  std::vector<presence_pair> live;
  if (p.teams_client) {
    live.push_back(*p.teams_client);
  }
  for (const auto& [id, s] : p.sessions) {
    if (auto e = effective_session(s, now)) {
      live.push_back(*e);
    }
  }

  // Without any session the user is offline, whatever they preferred.
  if (live.empty()) {
    return {"Offline", "Offline"};
  }
  if (p.preferred && now < p.preferred->expires_at) {
    return p.preferred->value;
  }

  // Strongest wins; on a tie the earlier (the Teams client) stays.
  const presence_pair* best = &live.front();
  for (const auto& candidate : live) {
    if (strength(candidate.availability) > strength(best->availability)) {
      best = &candidate;
    }
  }
  return *best;
}

bool valid_set_presence_pair(const presence_pair& p) {
  static const presence_pair accepted[] = {
    {"Available", "Available"},     {"Busy", "InACall"},
    {"Busy", "InAConferenceCall"},  {"Away", "Away"},
    {"DoNotDisturb", "Presenting"},
  };
  return std::find(std::begin(accepted), std::end(accepted), p) !=
         std::end(accepted);
}

bool valid_preferred_pair(const presence_pair& p) {
  static const presence_pair accepted[] = {
    {"Available", "Available"},
    {"Busy", "Busy"},
    {"DoNotDisturb", "DoNotDisturb"},
    {"BeRightBack", "BeRightBack"},
    {"Away", "Away"},
    {"Offline", "OffWork"},
  };
  return std::find(std::begin(accepted), std::end(accepted), p) !=
         std::end(accepted);
}

std::string canonical_presence_value(const std::string& v) {
  static const char* known[] = {
    "Available",         "AvailableIdle",
    "AvailableInactive", "Away",
    "BeRightBack",       "Busy",
    "BusyIdle",          "DoNotDisturb",
    "Offline",           "PresenceUnknown",
    "InACall",           "InAConferenceCall",
    "Inactive",          "InAMeeting",
    "OffWork",           "OutOfOffice",
    "Presenting",        "UrgentInterruptionsOnly",
    "Focusing",
  };
  for (const char* k : known) {
    if (iequals(v, k)) {
      return k;
    }
  }
  return v;
}

user_record generated_user(std::uint64_t n) {
  user_record u;
  std::string num = pad_number(n, 4);
  u.id = "00000000-0000-0000-0000-" + pad_number(n, 12);
  u.given_name = "User";
  u.surname = num;
  u.display_name = "User " + num;
  u.mail = "user" + num + "@contoso.example";
  u.user_principal_name = u.mail;
  u.business_phones = {"+1 425 555 " + pad_number(n % 10000, 4)};
  if (n % 2 == 0) {
    u.mobile_phone = "+44 7700 9" + pad_number(n % 100000, 5);
  }
  return u;
}

world::world(int licensed_users, bool real_time, std::string tenant_id,
             std::string app_id, std::string secret)
  : clock(real_time), tenant(std::move(tenant_id)),
    client_id(std::move(app_id)), client_secret(std::move(secret)), rng(1) {
  for (int i = 0; i < licensed_users; ++i) {
    put_user(generated_user(next_id_number++));
  }

  // Three users that a licence filter must drop.
  if (licensed_users > 0) {
    user_record disabled = generated_user(next_id_number++);
    disabled.account_enabled = false;
    disabled.display_name += " (disabled)";
    put_user(disabled);

    user_record plan_off = generated_user(next_id_number++);
    plan_off.teams_plan_disabled = true;
    plan_off.display_name += " (Teams plan disabled)";
    put_user(plan_off);

    user_record room = generated_user(next_id_number++);
    room.display_name = "Conference Room " + room.surname;
    room.mail.clear();
    room.user_principal_name = "room" + room.surname + "@contoso.example";
    room.business_phones.clear();
    room.mobile_phone.clear();
    room.has_licence = false;
    room.teams_plan_status.clear();
    put_user(room);
  }
}

void world::put_user(const user_record& u) {
  users_[u.id] = u;
  changes_.push_back({++change_seq_, u.id, false, false});
}

bool world::set_teams_number(const std::string& id, const std::string& number) {
  auto it = users_.find(id);
  if (it == users_.end()) {
    return false;
  }
  it->second.teams_number = number;
  return true;
}

bool world::remove_user(const std::string& id, bool permanent) {
  if (users_.erase(id) == 0) {
    return false;
  }
  presence_.erase(id);
  changes_.push_back({++change_seq_, id, true, permanent});
  return true;
}

std::string world::next_user_id() {
  while (true) {
    user_record u = generated_user(next_id_number++);
    if (users_.count(u.id) == 0) {
      return u.id;
    }
  }
}

presence_state& world::presence(const std::string& id) {
  return presence_[id];
}

presence_pair world::refresh(const std::string& id) {
  presence_state& p = presence_[id];
  millis now = clock.now();

  // Drop what has run out so the control API shows live state only.
  for (auto it = p.sessions.begin(); it != p.sessions.end();) {
    if (now >= it->second.expires_at) {
      it = p.sessions.erase(it);
    } else {
      ++it;
    }
  }
  if (p.preferred && now >= p.preferred->expires_at) {
    p.preferred.reset();
  }

  presence_pair now_value = aggregate(p, now);
  if (p.sequence_number.empty() || !(now_value == p.last_aggregate)) {
    p.last_aggregate = now_value;
    p.sequence_number = "C" + pad_number(++presence_seq_, 19);
  }
  return now_value;
}

void world::refresh_all() {
  for (const auto& [id, u] : users_) {
    if (is_teams_user(u)) {
      refresh(id);
    }
  }
}

} // namespace presync::graph_emulator
