#include "protocol/status.hpp"

#include <algorithm>
#include <array>

namespace presync {

namespace {

constexpr std::array<std::string_view, 10> availabilities = {
  "Available", "AvailableIdle", "Away",    "BeRightBack",     "Busy",
  "BusyIdle",  "DoNotDisturb",  "Offline", "PresenceUnknown", "Focusing",
};

constexpr std::array<std::string_view, 18> activities = {
  "Available",
  "Away",
  "BeRightBack",
  "Busy",
  "DoNotDisturb",
  "InACall",
  "InAConferenceCall",
  "Inactive",
  "InAMeeting",
  "Offline",
  "OffWork",
  "OutOfOffice",
  "PresenceUnknown",
  "Presenting",
  "UrgentInterruptionsOnly",
  "Focusing",
  "AvailableIdle",
  "AvailableInactive",
};

const std::array<presence, 5> publishable = {
  presence{"Available", "Available"},     presence{"Busy", "InACall"},
  presence{"Busy", "InAConferenceCall"},  presence{"Away", "Away"},
  presence{"DoNotDisturb", "Presenting"},
};

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

template <size_t N>
std::optional<std::string_view>
find_folded(const std::array<std::string_view, N>& names, std::string_view v) {
  for (auto name : names) {
    if (iequals(name, v)) {
      return name;
    }
  }
  return std::nullopt;
}

bool valid_token(std::string_view v) {
  return !v.empty() && std::all_of(v.begin(), v.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '_';
  });
}

std::string fold(std::optional<std::string_view> known, std::string_view raw) {
  return std::string{known ? *known : raw};
}

} // namespace

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(),
                    [](char x, char y) { return lower(x) == lower(y); });
}

std::optional<std::string_view> canonical_availability(std::string_view v) {
  return find_folded(availabilities, v);
}

std::optional<std::string_view> canonical_activity(std::string_view v) {
  return find_folded(activities, v);
}

std::optional<presence> parse_presence(std::string_view text) {
  auto slash = text.find('/');
  auto avail = text.substr(0, slash);
  auto act = slash == std::string_view::npos ? avail : text.substr(slash + 1);
  if (!valid_token(avail) || !valid_token(act)) {
    return std::nullopt;
  }
  return presence{fold(canonical_availability(avail), avail),
                  fold(canonical_activity(act), act)};
}

presence rule_view(const presence& p) {
  presence out;
  out.availability = canonical_availability(p.availability)
                       ? p.availability
                       : std::string{"PresenceUnknown"};
  out.activity = canonical_activity(p.activity)
                   ? p.activity
                   : std::string{"PresenceUnknown"};
  return out;
}

bool is_publishable(const presence& p) {
  return std::find(publishable.begin(), publishable.end(), p) !=
         publishable.end();
}

std::span<const presence> publishable_presences() {
  return publishable;
}

bool reports_as(const presence& observed, const presence& written) {
  if (!iequals(observed.availability, written.availability)) {
    return false;
  }
  return iequals(observed.activity, written.activity) ||
         iequals(observed.activity, written.availability);
}

bool is_contact_state(std::string_view state) {
  return state == connect_states::on_contact ||
         state == connect_states::incoming ||
         state == connect_states::after_contact_work;
}

bool is_system_state(std::string_view state) {
  return is_contact_state(state) || state == connect_states::missed ||
         state == connect_states::error || state == connect_states::logged_out;
}

std::string effective_state(const agent_snapshot& snapshot) {
  if (snapshot.logged_out) {
    return std::string{connect_states::logged_out};
  }

  // Precedence of DESIGN.md §3 and spec/connect.md §1.4: the strongest
  // contact decides, whatever order the snapshot lists them in.
  int best = 0;
  for (const auto& c : snapshot.contacts) {
    int rank = 0;
    if (c.state == "CONNECTED" || c.state == "CONNECTED_ONHOLD") {
      rank = 5;
    } else if (c.state == "INCOMING" || c.state == "PENDING" ||
               c.state == "CONNECTING") {
      rank = 4;
    } else if (c.state == "ENDED") {
      rank = 3;
    } else if (c.state == "MISSED" || c.state == "REJECTED") {
      rank = 2;
    } else if (c.state == "ERROR") {
      rank = 1;
    }
    best = std::max(best, rank);
  }
  switch (best) {
  case 5:
    return std::string{connect_states::on_contact};
  case 4:
    return std::string{connect_states::incoming};
  case 3:
    return std::string{connect_states::after_contact_work};
  case 2:
    return std::string{connect_states::missed};
  case 1:
    return std::string{connect_states::error};
  default:
    return snapshot.status_name;
  }
}

} // namespace presync
