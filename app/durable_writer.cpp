#include "app/durable_writer.hpp"

#include <chrono>
#include <utility>

namespace presync::app {

namespace {

/// Tags an answer the store has made durable: (stored_atom, queue, answer).
using stored_atom = caf::atom_constant<caf::atom("stored")>;

int64_t system_wall_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
    .count();
}

/// Returns whether the answer means the remote side now shows the value.
bool landed(const write_outcome& o) {
  return o.result == write_outcome::kind::ok ||
         o.result == write_outcome::kind::deferred;
}

} // namespace

caf::behavior durable_writer(durable_writer_type* self,
                             durable_writer_args args) {
  if (!args.wall) {
    args.wall = system_wall_ms;
  }
  return {
    [self, args](actors::write_dispatch& d) {
      auto queue = caf::actor_cast<caf::actor>(self->current_sender());
      self->state.tickets[d.ticket] = {queue, d.request};
      self->send(args.writer, std::move(d));
    },
    [self, args](actors::write_attempted& x) {
      auto found = self->state.tickets.find(x.ticket);
      if (found == self->state.tickets.end()) {
        return; // not ours: nothing to hand on
      }
      auto flight = std::move(found->second);
      self->state.tickets.erase(found);

      // What landed is recorded first; the answer follows once it is on
      // disk. A failed or throttled attempt changed nothing remote.
      if (landed(x.outcome) && flight.request.kind != write_kind::cancel) {
        const auto& r = flight.request;
        args.store->put_written(args.tenant, r.person, r.to,
                                {r.describe(), args.wall()});
      }
      auto me = caf::actor_cast<caf::actor>(self);
      args.store->when_durable(
        [me, queue = flight.queue, x](const std::optional<error>&) {
          // A failed store is latched and reported at shutdown; the write
          // itself happened, so the person must hear of it either way.
          caf::anon_send(me, stored_atom::value, queue, x);
        });
    },
    [self](stored_atom, const caf::actor& queue,
           const actors::write_attempted& x) { self->send(queue, x); },
  };
}

} // namespace presync::app
