// The person actor: a thin shell around one presync::person (DESIGN.md §2,
// "Person actor"). It forwards every input to the machine with `now` from
// the actor clock, arms the timers the machine asks for, sends writes to the
// queue of their side and reports a snapshot to its supervisor after every
// message. It makes no decision of its own.
//
// Memory (docs/PERFORMANCE.md): the machine is never changed in place. An
// input is applied to a copy, which then replaces the machine and is also
// the snapshot the supervisor keeps, so a person's state exists once, not
// twice, and an input that throws leaves the machine as it was. Everything
// the person actors of a tenant have in common (their supervisor, queues
// and hooks) is shared, not copied into each.
#pragma once

#include "actors/messages.hpp"
#include "protocol/person.hpp"
#include "protocol/rules.hpp"

#include <caf/all.hpp>

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace presync::actors {

/// Called with every input before it reaches the machine. Tests make it
/// throw to stand for a bug that crashes a person actor on one message.
using input_hook = std::function<void(const person_input&)>;

/// Where the person actors of one tenant send their outputs; one shared
/// copy per tenant.
struct person_links {
  caf::actor supervisor; ///< receives a person_snapshot after each message
  caf::actor teams_queue;
  caf::actor connect_queue;
  input_hook before_input;    ///< may be empty
  effects_hook after_effects; ///< may be empty
  /// A timer further off than this gets no CAF timer until the supervisor
  /// says it is near (arm_atom), so that CAF's clock holds nothing for a
  /// resting person; zero arms every timer at once.
  duration arm_within = duration{0};
};

/// What a person actor starts from.
struct person_actor_args {
  person_init init; ///< used when there is no snapshot
  start_mode mode = start_mode::fresh;
  std::shared_ptr<const sync_settings> settings;
  /// Set on a restart: the machine resumes from this copy, its live timers
  /// are armed again and start() is not called a second time.
  std::shared_ptr<const person> snapshot;
  uint64_t last_seq = 0; ///< the last input `snapshot` has processed
  std::shared_ptr<const person_links> links;
};

/// The CAF timers behind one timer kind of a person. The machine asks for
/// a new hold at almost every input, each superseding the last; arming a
/// CAF timer for each would put one message per input through the clock
/// thread and keep it there for the whole hold. Instead a kind keeps the
/// machine's latest request, and a CAF timer already on its way that is
/// due no later is left to fire early and be armed again for the rest.
struct timer_slot {
  uint64_t generation = 0;      ///< of the latest request
  std::optional<mono_time> due; ///< the latest request; nullopt: fired
  std::vector<mono_time> armed; ///< dues of the CAF timers on their way
};

struct person_actor_state {
  /// The machine after the last input; also the supervisor's snapshot.
  std::shared_ptr<const person> machine;
  std::shared_ptr<const person_links> links;
  uint64_t last_seq = 0;
  uint64_t current_seq = 0; ///< the input being processed; 0 for a timer
  std::array<timer_slot, timer_kind_count> timers;

  static inline const char* name = "presync.person";
};

using person_actor_type = caf::stateful_actor<person_actor_state>;

/// Runs one person. An exception thrown while it processes an input ends
/// the actor with sec::runtime_error and a context of (seq, what), so the
/// supervisor knows which input to skip as poison; seq is 0 when the
/// actor crashed on a timer or at start.
caf::behavior person_actor(person_actor_type* self, person_actor_args args);

/// Returns the sequence number a person actor crashed on, from its exit
/// reason: nullopt when the reason is not a crash (a kill, a normal exit).
std::optional<uint64_t> crashed_on(const caf::error& reason);

} // namespace presync::actors
