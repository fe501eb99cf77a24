// A person's state as the store keeps it, and how presync resumes from it
// after a restart (DESIGN.md §4, "Start"; issue #6).
//
// The record is versioned text: a header line `presync.person N`, then one
// `key=value` line per field that is set (values escape `%`, `|` and line
// breaks as %XX; lists are joined with `|`). Instants are stored as wall
// clock milliseconds, since the monotonic clock of one process means
// nothing to the next; durations are not stored, they come from the
// settings. The decision journal is not stored: it starts empty.
//
// What a record holds: both sides' state and source timestamps (so an
// event applied before the crash is dropped as old when the stream replays
// it), the session value and when it was posted, writes asked for but not
// confirmed, running holds, the deferral and the match record (what a
// restore would put back), and the loop guard's chain and pause.
//
// Resuming decides what became of the writes that were on their way: the
// store's last confirmed value per side (written before the person heard
// of it) and a fresh read of both sides tell a write that happened from
// one that did not. One that did is taken as done; one that did not is
// asked for again at once, through the same checks as any write, so a
// value a side already shows is never written twice.
#pragma once

#include "protocol/error.hpp"
#include "protocol/person.hpp"
#include "protocol/rules.hpp"
#include "protocol/time.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace presync {

/// The record format this build writes; older ones are read too.
inline constexpr int person_record_version = 1;

/// One instant on both clocks, to move instants between a process's
/// monotonic clock and the wall clock of a record.
struct record_clock {
  mono_time mono;
  int64_t wall_ms = 0;

  int64_t to_wall(mono_time t) const { return wall_ms + (t - mono).count(); }
  mono_time to_mono(int64_t wall) const {
    return mono + duration{wall - wall_ms};
  }
};

/// The last value the store says presync wrote to one side.
struct last_written {
  std::string value; ///< "Busy/InACall", "clear" or an agent status
  int64_t at_ms = 0; ///< wall clock of the confirmation
};

/// What presync knows at start besides the record.
struct resume_facts {
  std::optional<last_written> teams;   ///< the store's last Teams write
  std::optional<last_written> connect; ///< the store's last Connect write
  /// The agent's state as read at start (nullopt: not read). Teams has no
  /// counterpart: its presence mixes presync's session with the user's own
  /// clients, so it cannot tell whether one of presync's writes landed.
  std::optional<std::string> connect_state_now;
};

/// Returns the record of `p` at the instant `now`.
std::string encode_person_record(const person& p, const record_clock& now);

/// Rebuilds a person from `record` for a resumed start: `init` says who
/// the person is now (an id or sides that differ from the record's are an
/// error: the person starts fresh), `settings` are the current ones. The
/// result's live timers are due when the record said, overdue ones at
/// once (person::pending_timers()); writes not known to have happened are
/// held to be made again at `now`. Fails with `malformed` and a message
/// naming the person and the field for a damaged record, and for one of
/// a newer format; never throws.
[[nodiscard]] expected<person>
resume_person(std::string_view record, const person_init& init,
              std::shared_ptr<const sync_settings> settings,
              const resume_facts& facts, const record_clock& now);

} // namespace presync
