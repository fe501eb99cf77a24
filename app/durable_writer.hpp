// Stands between a write queue and its writer, so that the last value
// written to each side of each person is on disk before the person hears
// the write was made (issue #6): after a restart presync can then tell a
// write that happened from one that did not (protocol/person_record.hpp).
//
// A dispatch passes straight to the writer; the writer's answer is held
// until the store has committed the value it confirmed (one commit serves
// every answer that arrived meanwhile), then handed to the queue.
#pragma once

#include "actors/messages.hpp"
#include "adapters/store/state_store.hpp"

#include <caf/all.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>

namespace presync::app {

/// Returns the wall clock in Unix milliseconds.
using wall_clock_fn = std::function<int64_t()>;

/// What a durable writer needs.
struct durable_writer_args {
  std::string tenant;
  store::state_store* store = nullptr; ///< must outlive the actor
  caf::actor writer;                   ///< the real writer of one side
  wall_clock_fn wall;                  ///< empty: the system clock
};

/// A dispatch on its way, by ticket.
struct durable_writer_state {
  struct in_flight {
    caf::actor queue;
    write_request request;
  };
  std::unordered_map<uint64_t, in_flight> tickets;

  static inline const char* name = "presync.durable_writer";
};

using durable_writer_type = caf::stateful_actor<durable_writer_state>;

/// Handles write_dispatch (from a queue) and write_attempted (from the
/// writer). The queue counts a write as in flight until its answer comes,
/// so its depth covers the answers held here too.
caf::behavior durable_writer(durable_writer_type* self,
                             durable_writer_args args);

} // namespace presync::app
