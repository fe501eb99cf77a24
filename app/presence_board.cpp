#include "app/presence_board.hpp"

#include "protocol/json_text.hpp"

#include <array>
#include <cstdio>
#include <ctime>
#include <random>

namespace presync::app {

namespace {

constexpr std::array<std::string_view, presence_category_count> category_names =
  {"available", "busy", "dnd", "away", "offline", "unknown"};

presence_category from_availability(std::string_view a) {
  if (a == "Available" || a == "AvailableIdle") {
    return presence_category::available;
  }
  if (a == "Busy" || a == "BusyIdle") {
    return presence_category::busy;
  }
  if (a == "DoNotDisturb") {
    return presence_category::dnd;
  }
  if (a == "Away" || a == "BeRightBack") {
    return presence_category::away;
  }
  if (a == "Offline") {
    return presence_category::offline;
  }
  return presence_category::unknown;
}

presence_category from_connect(std::string_view state) {
  if (state == connect_states::available) {
    return presence_category::available;
  }
  if (is_contact_state(state)) {
    return presence_category::busy;
  }
  if (state == connect_states::offline || state == connect_states::logged_out) {
    return presence_category::offline;
  }
  // Missed, Error and custom statuses (Lunch, Break...): not reachable now.
  return presence_category::away;
}

} // namespace

std::string_view to_string(presence_category c) {
  return category_names[static_cast<size_t>(c)];
}

std::optional<presence_category> parse_presence_category(std::string_view s) {
  for (size_t i = 0; i < category_names.size(); ++i) {
    if (category_names[i] == s) {
      return static_cast<presence_category>(i);
    }
  }
  return std::nullopt;
}

presence_category category_of(const live_state& s) {
  if (s.teams && s.teams->availability != "PresenceUnknown") {
    return from_availability(s.teams->availability);
  }
  if (!s.connect_state.empty()) {
    return from_connect(s.connect_state);
  }
  return presence_category::unknown;
}

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

std::string iso8601_ms(int64_t ms) {
  auto secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  return buf;
}

void append_live_json(std::string& out, const live_state& s) {
  out += R"({"presence":")";
  out += to_string(category_of(s));
  out += R"(","teams":)";
  if (s.teams) {
    out += R"({"availability":)";
    append_json_string(out, s.teams->availability);
    out += R"(,"activity":)";
    append_json_string(out, s.teams->activity);
    out += "}";
  } else {
    out += "null";
  }
  out += R"(,"connect_state":)";
  if (s.connect_state.empty()) {
    out += "null";
  } else {
    append_json_string(out, s.connect_state);
  }
  out += R"(,"changed":)";
  if (s.changed_ms > 0) {
    append_json_string(out, iso8601_ms(s.changed_ms));
  } else {
    out += "null";
  }
  out += "}";
}

presence_board::presence_board(size_t capacity)
  : capacity_(capacity == 0 ? 1 : capacity) {
  // The epoch keeps ids of an earlier process from resuming in this one.
  std::random_device rd;
  char buf[24];
  std::snprintf(buf, sizeof buf, "%08x%04x", rd(), rd() & 0xffffu);
  epoch_ = buf;
}

void presence_board::seed(const std::string& person, live_state s) {
  std::unique_lock lock{mutex_};
  if (s.changed_ms == 0) {
    s.changed_ms = wall_ms();
  }
  states_[person] = std::move(s);
}

void presence_board::on_teams(const std::string& person, const presence& p) {
  std::string data;
  {
    std::unique_lock lock{mutex_};
    auto& s = states_[person];
    if (s.teams == p) {
      return;
    }
    s.teams = p;
    s.changed_ms = wall_ms();
    data = R"({"person":)" + json_string(person) + R"(,"state":)";
    append_live_json(data, s);
    data += "}";
    push("presence", std::move(data));
  }
  if (std::lock_guard guard{listener_mutex_}; listener_) {
    listener_();
  }
}

void presence_board::on_connect(const std::string& person,
                                const std::string& state) {
  {
    std::unique_lock lock{mutex_};
    auto& s = states_[person];
    if (s.connect_state == state) {
      return;
    }
    s.connect_state = state;
    s.changed_ms = wall_ms();
    auto data = R"({"person":)" + json_string(person) + R"(,"state":)";
    append_live_json(data, s);
    data += "}";
    push("presence", std::move(data));
  }
  if (std::lock_guard guard{listener_mutex_}; listener_) {
    listener_();
  }
}

void presence_board::on_directory(uint64_t version, size_t people) {
  {
    std::unique_lock lock{mutex_};
    push("directory", R"({"version":)" + std::to_string(version) +
                        R"(,"people":)" + std::to_string(people) + "}");
  }
  if (std::lock_guard guard{listener_mutex_}; listener_) {
    listener_();
  }
}

void presence_board::retain(
  const std::function<bool(const std::string&)>& keep) {
  std::unique_lock lock{mutex_};
  std::erase_if(states_, [&](const auto& kv) { return !keep(kv.first); });
}

// Called with mutex_ held exclusively.
void presence_board::push(std::string event, std::string data) {
  auto seq = next_seq_++;
  // Built in place at its exact size: the ring keeps 4,096 of these, and a
  // chain of operator+ leaves each in a buffer about twice its length.
  auto id = event_id(seq);
  std::string frame;
  frame.reserve(4 + id.size() + 8 + event.size() + 7 + data.size() + 2);
  frame.append("id: ")
    .append(id)
    .append("\nevent: ")
    .append(event)
    .append("\ndata: ")
    .append(data)
    .append("\n\n");
  ring_.push_back({seq, std::move(frame)});
  while (ring_.size() > capacity_) {
    ring_.pop_front();
    ++evicted_;
  }
}

live_state presence_board::state_of(const std::string& person) const {
  std::shared_lock lock{mutex_};
  auto i = states_.find(person);
  return i == states_.end() ? live_state{} : i->second;
}

void presence_board::read_all(
  const std::function<void(
    const std::function<const live_state*(const std::string&)>&)>& f) const {
  std::shared_lock lock{mutex_};
  f([this](const std::string& person) -> const live_state* {
    auto i = states_.find(person);
    return i == states_.end() ? nullptr : &i->second;
  });
}

uint64_t presence_board::latest() const {
  std::shared_lock lock{mutex_};
  return next_seq_ - 1;
}

event_batch presence_board::events_after(uint64_t after, size_t max) const {
  std::shared_lock lock{mutex_};
  event_batch out;
  out.last = after;
  if (after >= next_seq_ - 1) {
    return out;
  }

  // The ring holds consecutive ids; the first one after `after` must be
  // in it, or the reader missed events.
  auto oldest = ring_.empty() ? next_seq_ : ring_.front().seq;
  if (after + 1 < oldest) {
    out.gap = true;
    out.last = next_seq_ - 1;
    return out;
  }
  auto from = static_cast<size_t>(after + 1 - oldest);
  for (size_t i = from; i < ring_.size() && max > 0; ++i, --max) {
    out.frames += ring_[i].frame;
    out.last = ring_[i].seq;
  }
  return out;
}

std::string presence_board::event_id(uint64_t seq) const {
  return epoch_ + "-" + std::to_string(seq);
}

std::optional<uint64_t>
presence_board::parse_event_id(std::string_view text) const {
  auto dash = text.find('-');
  if (dash == std::string_view::npos || text.substr(0, dash) != epoch_) {
    return std::nullopt;
  }
  auto digits = text.substr(dash + 1);
  if (digits.empty() || digits.size() > 19) {
    return std::nullopt;
  }
  uint64_t seq = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    seq = seq * 10 + static_cast<uint64_t>(c - '0');
  }
  std::shared_lock lock{mutex_};
  if (seq >= next_seq_) {
    return std::nullopt; // not issued yet: a forged or confused id
  }
  return seq;
}

void presence_board::set_listener(std::function<void()> f) {
  std::lock_guard guard{listener_mutex_};
  listener_ = std::move(f);
}

uint64_t presence_board::evicted() const {
  std::shared_lock lock{mutex_};
  return evicted_;
}

} // namespace presync::app
