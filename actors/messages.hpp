// The messages that travel between the actors of one tenant: inputs for a
// person, timers, writes on their way to a remote side and back, snapshots
// for the supervisor, and the requests the API and the tests make.
//
// Every type here is a plain value for local use only, so they are allowed
// as unsafe message types (they are never serialised).
#pragma once

#include "protocol/journal.hpp"
#include "protocol/messages.hpp"
#include "protocol/person.hpp"
#include "protocol/status.hpp"
#include "protocol/time.hpp"
#include "protocol/write_queue.hpp"

#include <caf/all.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace presync::actors {

// -- atoms ------------------------------------------------------------------

/// Tags a timer of a person: (timer_atom, timer_kind, due in ms), the due
/// the timer was armed for (actors/person_actor.hpp, timer_slot); on its
/// way through the supervisor (timer_atom, person, timer_kind, due in ms).
using timer_atom = caf::atom_constant<caf::atom("timer")>;

/// Tags a write queue's wake-up: (wakeup_atom, due in ms).
using wakeup_atom = caf::atom_constant<caf::atom("wakeup")>;

/// Tags a supervisor's back-off timer: (restart_atom, person, generation).
using restart_atom = caf::atom_constant<caf::atom("restart")>;

/// Tells an idle person actor to end so that its person rests as the
/// supervisor's snapshot, and ticks the supervisor's rest sweep: (rest_atom).
using rest_atom = caf::atom_constant<caf::atom("rest")>;

/// Tells a person actor that its next timer is near: (arm_atom). It arms
/// the CAF timers it left unarmed for being further off than its links'
/// arm_within (actors/person_actor.hpp).
using arm_atom = caf::atom_constant<caf::atom("arm")>;

/// Wakes a resting person shortly before its next timer: (wake_atom,
/// person), the supervisor's own.
using wake_atom = caf::atom_constant<caf::atom("wake")>;

/// Asks for a person's view: (get_atom, view_atom, person) -> person_view.
using view_atom = caf::atom_constant<caf::atom("view")>;

/// Asks for a person's journal: (get_atom, journal_atom, person)
/// -> journal_entries.
using journal_atom = caf::atom_constant<caf::atom("journal")>;

/// Asks a supervisor for its counters: (get_atom, counters_atom)
/// -> supervisor_counters.
using counters_atom = caf::atom_constant<caf::atom("counters")>;

/// Test only: (get_atom, child_atom, person) -> caf::actor, the current
/// person actor (an invalid handle while it is down).
using child_atom = caf::atom_constant<caf::atom("child")>;

/// Asks a memory writer for what it saw: (get_atom, records_atom)
/// -> write_records.
using records_atom = caf::atom_constant<caf::atom("records")>;

/// Stops a supervisor with every actor it spawned: (stop_atom).
using stop_atom = caf::atom_constant<caf::atom("stop")>;

/// Asks a write queue how many writes it holds: (get_atom, depth_atom)
/// -> uint64_t (waiting plus in flight).
using depth_atom = caf::atom_constant<caf::atom("depth")>;

/// Asks a supervisor for its write queues: (get_atom, queues_atom)
/// -> std::vector<caf::actor> (Teams first, then Connect).
using queues_atom = caf::atom_constant<caf::atom("queues")>;

// -- inputs of a person -----------------------------------------------------

/// A new effective Connect state of one person.
struct connect_change {
  std::string person;
  std::string state;
  int64_t source_ms = 0; ///< the event's source timestamp
};

/// The Connect changes of one GetRecords answer, in stream order. One
/// message for many events: the supervisor takes each as if it had come
/// alone (issue 9, "ingest").
struct connect_batch {
  std::vector<connect_change> changes;
};

/// A newly observed Teams presence of one person.
struct teams_observation {
  std::string person;
  presence observed;
  int64_t source_ms = 0; ///< the observation's source timestamp
};

/// How one attempt of a write went, on its way from a queue to the person.
struct write_result {
  write_request request;
  write_outcome outcome;
};

/// A write waits behind Retry-After or the token bucket (rate_limited).
struct write_waiting {
  write_request request;
};

/// Anything the supervisor forwards to a person actor.
using person_input =
  std::variant<connect_change, teams_observation, write_result, write_waiting>;

/// Returns the person an input is for.
const std::string& person_of(const person_input& in);

/// Watches every input a supervisor accepts for a person (metrics, logs).
/// Called on the supervisor's thread; must not block.
using delivered_hook = std::function<void(const person_input&)>;

/// Watches what a person's machine decided after each input or timer:
/// (person, effects). Called on the person actor's thread, so it must be
/// thread-safe and must not block.
using effects_hook =
  std::function<void(const std::string&, const person_effects&)>;

/// An input numbered by the supervisor, so that a restarted person actor
/// can be given exactly the inputs its predecessor had not processed.
struct sequenced_input {
  uint64_t seq = 0;
  person_input input;
};

/// The state of a person actor after a message: a complete copy of the
/// machine and the last input it processed (0: none yet).
struct person_snapshot {
  std::string person;
  std::shared_ptr<const presync::person> machine;
  uint64_t last_seq = 0;
};

/// The reply to (get_atom, journal_atom, person).
struct journal_entries {
  std::vector<journal_entry> entries;
};

// -- directory changes ------------------------------------------------------

/// Adds a person to a running tenant (a new user, or a new pairing). An
/// existing person of that id is replaced: its actor ends, the new one
/// starts afresh.
struct add_person {
  person_init init;
};

/// Removes a person from a running tenant; its later inputs are dropped.
struct remove_person {
  std::string id;
};

/// New sync settings for a running tenant (config reload): every person
/// takes them at once, running holds keep their due; the queues take
/// their new limits.
struct settings_update {
  std::shared_ptr<const sync_settings> sync;
  write_queue_settings teams_limits;
  write_queue_settings connect_limits;
};

// -- writes between queue and writer ----------------------------------------

/// One attempt a write queue asks its writer to make. The writer answers
/// the sender with a write_attempted carrying the same ticket.
struct write_dispatch {
  uint64_t ticket = 0;
  write_request request;
};

/// A writer's answer to a write_dispatch.
struct write_attempted {
  uint64_t ticket = 0;
  write_outcome outcome;
};

// -- supervision ------------------------------------------------------------

/// The reply to (get_atom, counters_atom).
struct supervisor_counters {
  uint64_t restarts = 0; ///< person actors respawned
  uint64_t poisoned = 0; ///< inputs skipped because an actor threw on them
  uint64_t failed = 0;   ///< persons given up after too many restarts
  uint64_t rested = 0;   ///< times an idle person actor ended to rest
  uint64_t woken = 0;    ///< times a resting person got an actor again
  uint64_t resting = 0;  ///< persons resting now (no actor)
  std::vector<std::string> failed_people;
  std::map<std::string, uint64_t> dropped; ///< inputs dropped, by reason

  /// Returns the number of inputs dropped for `reason` (0 if none).
  uint64_t dropped_for(const std::string& reason) const {
    auto i = dropped.find(reason);
    return i == dropped.end() ? 0 : i->second;
  }
};

// -- memory writer ----------------------------------------------------------

/// Makes the next write (not refresh) to `to` for `person` fail.
struct scripted_failure {
  std::string person;
  side to = side::teams;
  int status = 500;
  std::optional<duration> retry_after;
};

/// One attempt a memory writer received.
struct write_record {
  mono_time at;
  side to = side::teams;
  std::string person;
  std::string value; ///< "Busy/InACall", "clear" or a status name
  write_kind kind = write_kind::write;
  std::optional<int> result; ///< the scripted failure it answered with
};

/// The reply to (get_atom, records_atom).
struct write_records {
  std::vector<write_record> records;
};

} // namespace presync::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(presync::presence)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(presync::timer_kind)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(presync::write_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(presync::write_outcome)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(presync::person_view)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(presync::actors::connect_change)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(presync::actors::connect_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(presync::actors::teams_observation)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(presync::actors::write_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(presync::actors::write_waiting)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(presync::actors::sequenced_input)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(presync::actors::person_snapshot)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(presync::actors::journal_entries)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(presync::actors::add_person)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(presync::actors::remove_person)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(presync::actors::settings_update)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(presync::write_queue_settings)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(presync::actors::write_dispatch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(presync::actors::write_attempted)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(presync::actors::supervisor_counters)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(presync::actors::scripted_failure)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(presync::actors::write_records)
