#include "actors/write_queue_actor.hpp"

#include "actors/clock.hpp"

#include <utility>

namespace presync::actors {

namespace {

/// Forwards what the queue asked for and schedules its next wake-up.
void handle(write_queue_actor_type* self, const write_queue_args& args,
            queue_effects& qe, mono_time now) {
  for (const auto& req : qe.waiting) {
    self->send(args.results, write_waiting{req});
  }
  for (auto& d : qe.dispatches) {
    self->send(args.writer, write_dispatch{d.ticket, std::move(d.request)});
  }
  for (auto& r : qe.results) {
    self->send(args.results,
               write_result{std::move(r.request), std::move(r.outcome)});
  }

  // One wake-up at a time: an earlier one already scheduled covers it. The
  // queue has just pumped at `now`, so a wake-up due now finds nothing new.
  auto next = self->state.queue->next_wakeup(now);
  auto& scheduled = self->state.wakeup;
  if (!next || *next <= now || (scheduled && *scheduled <= *next)) {
    return;
  }
  scheduled = *next;
  self->delayed_send(self, *next - now, wakeup_atom::value,
                     next->time_since_epoch().count());
}

} // namespace

caf::behavior write_queue_actor(write_queue_actor_type* self,
                                write_queue_args args) {
  self->state.queue.emplace(args.settings);
  return {
    [self, args](write_request& req) {
      auto now = now_of(self);
      queue_effects qe;
      self->state.queue->submit(std::move(req), now, qe);
      handle(self, args, qe, now);
    },
    [self, args](const write_attempted& x) {
      auto now = now_of(self);
      queue_effects qe;
      self->state.queue->on_result(x.ticket, x.outcome, now, qe);
      handle(self, args, qe, now);
    },
    [self, args](wakeup_atom, int64_t due_ms) {
      auto now = now_of(self);
      auto& scheduled = self->state.wakeup;
      if (scheduled && scheduled->time_since_epoch().count() == due_ms) {
        scheduled.reset();
      }
      queue_effects qe;
      self->state.queue->on_wakeup(now, qe);
      handle(self, args, qe, now);
    },
    [self](const write_queue_settings& s) {
      self->state.queue->reconfigure(s);
    },
    [self](caf::get_atom, depth_atom) {
      const auto& q = *self->state.queue;
      return static_cast<uint64_t>(q.waiting_count() + q.in_flight_count());
    },
  };
}

} // namespace presync::actors
