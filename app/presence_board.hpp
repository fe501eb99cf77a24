// The live half of the directory (DESIGN.md §5): each person's current
// Teams presence and Connect effective state as the tenant supervisor
// accepts them, and a bounded ring of change events that the server-sent
// event stream replays from a Last-Event-ID.
//
// Written from actor threads (the supervisor's on_delivered hook) and read
// from the API's threads. Writers hold the lock for a map update and a
// ring append; readers that scan the whole directory hold it shared.
//
// TODO: the board takes each input as the supervisor accepts it, so an
// event the person machine then drops as older than one it applied
// (DESIGN.md §4, "Time") still shows here until the next change; feeding
// the board from the person's effects (the applied state) would fix it.
#pragma once

#include "protocol/status.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace presync::app {

/// One person's live state.
struct live_state {
  std::optional<presence> teams; ///< the observed Teams presence
  std::string connect_state;     ///< effective Connect state; empty: unknown
  int64_t changed_ms = 0;        ///< wall clock of the last change
};

/// The presence filter's categories, one per person.
enum class presence_category : uint8_t {
  available,
  busy,
  dnd,
  away,
  offline,
  unknown,
};

inline constexpr int presence_category_count = 6;

std::string_view to_string(presence_category c);

/// Parses "available", "busy", "dnd", "away", "offline" or "unknown".
std::optional<presence_category> parse_presence_category(std::string_view s);

/// Returns the category a person shows: the Teams availability when Teams
/// knows it (it already carries presync's projection of Connect), else one
/// derived from the Connect state, else unknown.
presence_category category_of(const live_state& s);

/// What a reader gets from the ring after a given event.
struct event_batch {
  std::string frames; ///< SSE frames, ready to send
  uint64_t last = 0;  ///< the newest event id included (or the one asked)
  bool gap = false;   ///< events were lost: the reader must reload
};

/// Thread-safe live states and change events of one tenant.
class presence_board {
 public:
  /// `capacity` bounds the ring of events kept for resuming streams.
  explicit presence_board(size_t capacity = 4096);

  presence_board(const presence_board&) = delete;
  presence_board& operator=(const presence_board&) = delete;

  // -- writers ---------------------------------------------------------------

  /// Sets a person's state at start or when it joins, without an event.
  void seed(const std::string& person, live_state s);

  /// Records a newly observed Teams presence; an event when it changed.
  void on_teams(const std::string& person, const presence& p);

  /// Records a new effective Connect state; an event when it changed.
  void on_connect(const std::string& person, const std::string& state);

  /// Records that the directory changed (people came or went).
  void on_directory(uint64_t version, size_t people);

  /// Drops the states of people `keep` does not return true for (they
  /// left the directory).
  void retain(const std::function<bool(const std::string&)>& keep);

  // -- readers ---------------------------------------------------------------

  /// Returns a person's state (a default one when unknown).
  live_state state_of(const std::string& person) const;

  /// Runs `f` with the lookup of live states held under a shared lock, for
  /// a scan of the whole directory. `f` must not call back into the board.
  void read_all(
    const std::function<void(
      const std::function<const live_state*(const std::string&)>&)>& f) const;

  /// Returns the id of the newest event (0: none yet).
  uint64_t latest() const;

  /// Returns the frames of every event after `after`, at most `max` of
  /// them; `gap` when events after `after` already left the ring.
  event_batch events_after(uint64_t after, size_t max = 512) const;

  /// Returns the text of an event id for the SSE `id:` field: this
  /// board's epoch and the sequence number.
  std::string event_id(uint64_t seq) const;

  /// Parses a Last-Event-ID: the sequence number if it was issued by this
  /// board (this process), nullopt otherwise (the stream must reset).
  std::optional<uint64_t> parse_event_id(std::string_view text) const;

  /// Calls `f` (on the writer's thread, quickly) after each new event;
  /// empty to stop. One listener at a time.
  void set_listener(std::function<void()> f);

  /// Returns the number of events dropped from the ring so far.
  uint64_t evicted() const;

 private:
  void push(std::string event, std::string data);

  mutable std::shared_mutex mutex_; ///< guards the members below
  std::unordered_map<std::string, live_state> states_;
  struct event {
    uint64_t seq = 0;
    std::string frame;
  };
  std::deque<event> ring_;
  size_t capacity_;
  uint64_t next_seq_ = 1;
  uint64_t evicted_ = 0;
  std::string epoch_; ///< distinguishes this process's ids from older ones

  std::mutex listener_mutex_; ///< guards listener_
  std::function<void()> listener_;
};

/// Returns the wall clock in milliseconds since the Unix epoch.
int64_t wall_ms();

/// Formats milliseconds since the Unix epoch as "2025-03-04T15:02:06.884Z".
std::string iso8601_ms(int64_t ms);

/// Appends `s` as a JSON object: {"presence","teams","connect_state",
/// "changed"}.
void append_live_json(std::string& out, const live_state& s);

} // namespace presync::app
