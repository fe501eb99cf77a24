// Plain values that cross between the person state machine, the write
// queues and the adapters. No actor or network types appear here.
#pragma once

#include "protocol/rules.hpp"
#include "protocol/time.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace presync {

/// The two platforms.
enum class side : uint8_t { teams, connect };

std::string_view to_string(side s);

/// What a write request asks of the queue of its side.
enum class write_kind : uint8_t {
  write,   ///< a new value a person will see
  refresh, ///< re-post the unchanged session before Teams fades it
  cancel,  ///< withdraw this person's unsent write
};

/// A write to one side for one person. `teams` is used on the Teams side,
/// `status` (an agent status name) on the Connect side.
struct write_request {
  std::string person;
  side to = side::teams;
  write_kind kind = write_kind::write;
  teams_target teams;
  std::string status;
  /// Connect only: the agent was on a contact when the write was decided,
  /// so Connect will take the status as the agent's next one (deferred).
  bool during_contact = false;

  /// Returns "Busy/InACall", "clear" or the status name.
  std::string describe() const {
    return to == side::teams ? teams.describe() : status;
  }

  /// Returns true if both carry the same value for the same side.
  bool same_value(const write_request& other) const {
    return to == other.to &&
           (to == side::teams ? teams == other.teams : status == other.status);
  }
};

/// How a remote side answered one write attempt.
struct write_outcome {
  enum class kind : uint8_t {
    ok,        ///< done
    throttled, ///< 429 or 5xx: retried after retry_after
    failed,    ///< any other error: given up
    deferred,  ///< Connect accepted it as the next status (agent on contact)
    cancelled, ///< withdrawn from the queue before it was sent
  };

  kind result = kind::ok;
  int http_status = 200;
  duration retry_after{0}; ///< for throttled; 0 means none was given
  std::string reason;      ///< short text for the journal, never a secret

  static write_outcome ok() { return {}; }
  static write_outcome cancelled() {
    return {kind::cancelled, 0, duration{0}, "withdrawn before it was sent"};
  }
};

/// The timers of one person; each kind runs at most once at a time.
enum class timer_kind : uint8_t {
  c2t_hold,  ///< a Connect state waits for min_hold
  t2c_hold,  ///< a Teams key waits for min_hold
  exit_hold, ///< the end of a matched Teams key waits for min_hold
  deferral,  ///< the state after a contact waits for min_hold
  refresh,   ///< presync's session needs re-posting
  pause_end, ///< the loop guard's cooldown ends
};

inline constexpr size_t timer_kind_count = 6;

std::string_view to_string(timer_kind k);

/// Asks the owner of the state machine to call on_timer(kind, generation)
/// at `due`. A timer whose generation is no longer current is ignored, so
/// nothing ever needs cancelling (DESIGN.md §4, "Debounce").
struct timer_request {
  timer_kind kind;
  uint64_t generation;
  mono_time due;
};

} // namespace presync
