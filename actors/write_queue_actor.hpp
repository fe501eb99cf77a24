// The write queue actor of one side of one tenant: a thin shell around
// presync::write_queue (DESIGN.md §2, "Rate limiter"; §4, "Failures and
// throttling"). Writes arrive from person actors; attempts go to a writer
// actor, whose answers come back as write_attempted; how a write went is
// reported to the supervisor, which forwards it to the person.
#pragma once

#include "actors/messages.hpp"
#include "protocol/write_queue.hpp"

#include <caf/all.hpp>

#include <optional>

namespace presync::actors {

struct write_queue_args {
  write_queue_settings settings;
  caf::actor writer;  ///< receives (write_dispatch); answers write_attempted
  caf::actor results; ///< receives write_result and write_waiting
};

struct write_queue_state {
  std::optional<write_queue> queue;
  std::optional<mono_time> wakeup; ///< the wake-up already scheduled

  static inline const char* name = "presync.write_queue";
};

using write_queue_actor_type = caf::stateful_actor<write_queue_state>;

/// Runs one write queue. Handles write_request (from person actors),
/// write_attempted (from the writer), write_queue_settings (new limits)
/// and (get_atom, depth_atom) ->
/// uint64_t, the writes it holds (waiting plus in flight). It schedules a
/// wake-up only while something waits, so it never keeps the actor system alive
/// on its own.
caf::behavior write_queue_actor(write_queue_actor_type* self,
                                write_queue_args args);

} // namespace presync::actors
