// The tenant supervisor (DESIGN.md §2, "Tenant supervisor"): spawns the
// person actors and the two write queues of one tenant, and is the stable
// handle of every person. Inputs for a person go to the supervisor, which
// numbers them and forwards them to the current person actor.
//
// A person actor that dies abnormally is restarted from its last snapshot
// after a back-off; the inputs it had not processed are given to its
// successor in order, and inputs that arrive during the back-off wait for
// it. When an actor threw on an input, that input is skipped as poison.
// Too many restarts in a window mark the person failed: its inputs are
// dropped and counted from then on, and the other persons carry on. Each
// tenant has its own supervisor, so a fault never crosses tenants.
//
// Resting (docs/PERFORMANCE.md, memory): with `rest_after` set, a person
// actor that has had nothing to do for that long ends, and its person rests
// as the snapshot the supervisor holds anyway, at about 1 KB instead of
// the 3.5 KB a person with a live CAF actor costs. The next input
// for it, or a sweep ahead of its next timer, gives it an actor again from
// that snapshot, which is how a restart resumes too; nothing it decides
// changes. The sweep runs every `rest_after`: a person rests once no
// snapshot came from it since the last sweep, nothing it was given is
// unprocessed and its next timer is due after the next sweep; a resting
// person whose next timer is due by the next sweep is woken shortly
// before it (a second, or half the period if that is less).
// So that CAF's clock holds nothing for a resting person (it keeps a
// delayed message, and so its receiver, until it fires), a person actor
// arms only timers due within two periods, timers go to the supervisor,
// which hands them to the person's current actor, and the sweep tells an
// actor when a timer it left unarmed is due by the next sweep.
//
// Durability (issue #6): persons with a stored state start from it, every
// accepted snapshot is shown to the owner (who persists it), and a barrier
// tells the owner when every input accepted before it has been processed,
// so a Kinesis checkpoint is stored only after the events it covers.
#pragma once

#include "actors/messages.hpp"
#include "actors/person_actor.hpp"
#include "protocol/person.hpp"
#include "protocol/rules.hpp"
#include "protocol/write_queue.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace presync::actors {

/// Asks for a barrier: (applied_atom, token). The supervisor answers the
/// sender with (applied_atom, token) once every input it accepted before
/// the barrier was processed by its person (or dropped: a failed or
/// removed person). Answers come in the order the barriers were asked.
using applied_atom = caf::atom_constant<caf::atom("applied")>;

/// Sees each snapshot the supervisor accepts: (person, machine). Called on
/// the supervisor's thread before a barrier that waited for it is
/// answered; `machine` is null when the person was removed.
using snapshot_hook = std::function<void(
  const std::string&, const std::shared_ptr<const presync::person>&)>;

/// How the supervisor restarts a failed person actor.
struct supervision_settings {
  duration initial_backoff = std::chrono::milliseconds{100};
  duration max_backoff = std::chrono::seconds{10}; ///< the doubling stops here
  /// Restarts allowed within `restart_window`; one more marks the person
  /// failed.
  size_t max_restarts = 5;
  duration restart_window = std::chrono::minutes{1};
  /// An idle person actor ends after this long and its person rests as its
  /// snapshot until it is needed; zero keeps every actor running.
  duration rest_after = duration{0};
};

/// One line for the log: lifecycle and supervision events of a tenant.
struct log_event {
  std::string level; ///< info, warning, error
  std::string event; ///< stable name: person_restarting, person_failed, ...
  std::string tenant;
  std::string person;
  std::string detail;
};

/// Receives log events; the default writes one JSON object per line to
/// std::clog.
using log_sink = std::function<void(const log_event&)>;

/// Returns the default sink: the shared JSON logger, component "supervisor".
log_sink json_log_sink();

/// Everything a tenant supervisor needs.
struct tenant_config {
  std::string tenant;
  std::shared_ptr<const sync_settings> sync;
  std::vector<person_init> people;
  start_mode mode = start_mode::fresh;
  caf::actor teams_writer;   ///< receives write_dispatch for Teams
  caf::actor connect_writer; ///< receives write_dispatch for Connect
  write_queue_settings teams_limits;
  write_queue_settings connect_limits;
  supervision_settings supervision;
  input_hook before_input;     ///< test only: may throw to crash a person actor
  log_sink log;                ///< empty: json_log_sink()
  delivered_hook on_delivered; ///< sees each accepted input; may be empty
  effects_hook on_effects;     ///< sees each person's effects; may be empty
  snapshot_hook on_snapshot;   ///< sees each accepted snapshot; may be empty
  /// Persons that resume from a stored state (protocol/person_record.hpp)
  /// instead of starting from their person_init; by id.
  std::unordered_map<std::string, std::shared_ptr<const presync::person>>
    stored;
};

/// What the supervisor keeps about one person.
struct person_slot {
  /// The facts a first start begins from; dropped once a snapshot holds
  /// the person, since a restart resumes the snapshot.
  std::unique_ptr<person_init> init;
  std::shared_ptr<const person> snapshot; ///< null until the first one
  uint64_t acked = 0;    ///< the last input the snapshot has processed
  uint64_t next_seq = 0; ///< the last number given to an input
  /// Sent or buffered, not processed; oldest first. Vectors rather than
  /// deques here: an empty std::deque still holds over 500 bytes, and
  /// every person has a slot (docs/PERFORMANCE.md).
  std::vector<sequenced_input> unacked;
  caf::actor child; ///< invalid while down or resting
  bool failed = false;
  /// Asked to rest (while `child` is still valid) or resting (once it is
  /// not): inputs wait in `unacked` and wake the person.
  bool resting = false;
  bool active = false;      ///< a snapshot came since the last rest sweep
  uint64_t restart_gen = 0; ///< tells a stale back-off timer apart
  std::vector<mono_time> recent_restarts; ///< oldest first
};

/// A barrier waiting for persons to process what they were given.
struct pending_barrier {
  uint64_t token = 0;
  caf::actor reply_to;
  std::unordered_map<std::string, uint64_t> waits; ///< person -> last seq
};

struct tenant_supervisor_state {
  tenant_config cfg;
  std::unordered_map<std::string, person_slot> people;
  std::unordered_map<caf::actor_id, std::string> by_child;
  caf::actor teams_queue;
  caf::actor connect_queue;
  std::shared_ptr<const person_links> links; ///< shared by person actors
  supervisor_counters counters;
  std::deque<pending_barrier> barriers;
  mono_time next_sweep; ///< of the rest sweep, when rest_after is set
  bool stopping = false;

  static inline const char* name = "presync.tenant_supervisor";
};

using tenant_supervisor_type = caf::stateful_actor<tenant_supervisor_state>;

/// Runs a tenant. Handles connect_change, connect_batch, teams_observation,
/// write_result,
/// write_waiting (forwarded to the person), person_snapshot (from its
/// children), (get_atom, view_atom, person) -> person_view,
/// (get_atom, journal_atom, person) -> journal_entries,
/// (get_atom, counters_atom) -> supervisor_counters,
/// (get_atom, child_atom, person) -> caf::actor (test only),
/// (get_atom, queues_atom) -> std::vector<caf::actor>, add_person,
/// remove_person, settings_update, (applied_atom, token), (rest_atom) (its
/// own sweep) and
/// (stop_atom), which ends every actor of the tenant and the supervisor.
caf::behavior tenant_supervisor(tenant_supervisor_type* self,
                                tenant_config cfg);

/// Spawns a tenant supervisor, which spawns the rest of the tenant.
caf::actor spawn_tenant_supervisor(caf::actor_system& sys, tenant_config cfg);

} // namespace presync::actors
