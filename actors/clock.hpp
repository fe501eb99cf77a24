// The one conversion between the actor system's clock and the sync core's
// monotonic milliseconds. Every actor reads `now` through it, so that the
// test coordinator's simulated clock drives the sync core in tests.
#pragma once

#include "protocol/time.hpp"

#include <caf/actor_clock.hpp>
#include <caf/local_actor.hpp>

#include <chrono>

namespace presync::actors {

/// Returns the actor clock's instant as the sync core's mono_time
/// (rounded down to the millisecond).
inline mono_time to_mono(caf::actor_clock::time_point t) {
  return mono_time{std::chrono::floor<duration>(t.time_since_epoch())};
}

/// Returns the current instant of the actor system `self` runs in.
inline mono_time now_of(caf::local_actor* self) {
  return to_mono(self->clock().now());
}

/// Returns how long to wait from `now` until `due` (zero if it is past).
inline duration delay_until(mono_time due, mono_time now) {
  return due > now ? due - now : duration{0};
}

} // namespace presync::actors
