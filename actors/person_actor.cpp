#include "actors/person_actor.hpp"

#include "actors/clock.hpp"

#include <algorithm>
#include <exception>
#include <string>
#include <utility>

namespace presync::actors {

namespace {

/// Makes sure a CAF timer of `kind` fires no later than the latest request
/// of that kind: one on its way that is due no later is enough. The
/// message carries the due it was armed for, in milliseconds. A delayed
/// one goes to the supervisor, without a sender: CAF's clock holds on to
/// the receiver and the sender of a delayed message until it fires, and
/// an actor that ended to rest must not be kept in memory by its timers
/// (the supervisor drops a timer whose actor is gone; the next one arms
/// its own from the snapshot).
void arm_timer(person_actor_type* self, timer_kind kind, mono_time now) {
  auto& slot = self->state.timers[static_cast<size_t>(kind)];
  if (!slot.due) {
    return;
  }
  auto due = *slot.due;
  const auto within = self->state.links->arm_within;
  if (within > duration{0} && due > now + within) {
    return; // the supervisor's sweep says when it is near
  }
  auto& armed = slot.armed;
  if (std::any_of(armed.begin(), armed.end(),
                  [due](mono_time t) { return t <= due; })) {
    return;
  }

  armed.push_back(due);
  auto ms = static_cast<int64_t>(due.time_since_epoch().count());
  auto wait = delay_until(due, now);
  if (wait == duration{0}) {
    self->send(self, timer_atom::value, kind, ms);
  } else {
    caf::delayed_anon_send(self->state.links->supervisor, wait,
                           timer_atom::value, self->state.machine->id(), kind,
                           ms);
  }
}

/// Carries out what the machine asked for after one input.
void apply(person_actor_type* self, person_effects& fx, mono_time now) {
  const auto& links = *self->state.links;
  const auto& machine = self->state.machine;
  if (links.after_effects) {
    links.after_effects(machine->id(), fx);
  }

  for (const auto& t : fx.timers) {
    auto& slot = self->state.timers[static_cast<size_t>(t.kind)];
    slot.generation = t.generation;
    slot.due = t.due;
    arm_timer(self, t.kind, now);
  }

  for (auto& req : fx.writes) {
    const auto& queue =
      req.to == side::teams ? links.teams_queue : links.connect_queue;
    self->send(queue, std::move(req));
  }

  // The machine itself: it is never changed again, so the supervisor
  // shares it instead of keeping a copy.
  self->send(links.supervisor,
             person_snapshot{machine->id(), machine, self->state.last_seq});
}

/// Runs `step` on a copy of the machine and, once it returned, makes the
/// copy the machine. A step that throws leaves the machine untouched.
template <class Step>
void update(person_actor_type* self, Step step) {
  auto next = std::make_shared<person>(*self->state.machine);
  step(*next);
  self->state.machine = std::move(next);
}

/// Hands one input to the machine.
void feed(person& p, const person_input& in, mono_time now,
          person_effects& fx) {
  if (auto* c = std::get_if<connect_change>(&in)) {
    p.on_connect(c->state, c->source_ms, now, fx);
  } else if (auto* t = std::get_if<teams_observation>(&in)) {
    p.on_teams(t->observed, t->source_ms, now, fx);
  } else if (auto* r = std::get_if<write_result>(&in)) {
    p.on_write_result(r->request, r->outcome, now, fx);
  } else if (auto* w = std::get_if<write_waiting>(&in)) {
    p.on_write_waiting(w->request, now, fx);
  }
}

caf::error to_exit_reason(person_actor_type* self, std::exception_ptr& ep) {
  std::string what = "unknown exception";
  try {
    std::rethrow_exception(ep);
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {
    // Keep the generic text: nothing more is known.
  }
  return caf::make_error(caf::sec::runtime_error, self->state.current_seq,
                         std::move(what));
}

} // namespace

caf::behavior person_actor(person_actor_type* self, person_actor_args args) {
  self->set_exception_handler(
    [self](caf::scheduled_actor*, std::exception_ptr& ep) {
      return to_exit_reason(self, ep);
    });

  // A restart resumes the copy and re-arms its live timers; a first start
  // runs the machine's start step.
  self->state.links = std::move(args.links);
  auto now = now_of(self);
  person_effects fx;
  if (args.snapshot) {
    self->state.machine = std::move(args.snapshot);
    self->state.last_seq = args.last_seq;
    update(self, [&](person& p) {
      if (args.settings) {
        p.set_settings(args.settings); // a reload since
      }

      // Timers that fell due while the actor was down fire now, before the
      // inputs the supervisor replays (timers first, as at any instant).
      auto timers = p.pending_timers();
      std::stable_sort(
        timers.begin(), timers.end(),
        [](const auto& a, const auto& b) { return a.due < b.due; });
      for (const auto& t : timers) {
        if (t.due <= now) {
          p.on_timer(t.kind, t.generation, now, fx);
        } else {
          fx.timers.push_back(t);
        }
      }
    });
  } else {
    auto p = std::make_shared<person>(std::move(args.init), args.settings);
    p->start(args.mode, now, fx);
    self->state.machine = std::move(p);
  }
  apply(self, fx, now);

  return {
    [self](const sequenced_input& x) {
      auto now = now_of(self);
      self->state.current_seq = x.seq;
      const auto& links = *self->state.links;
      if (links.before_input) {
        links.before_input(x.input);
      }
      person_effects fx;
      update(self, [&](person& p) { feed(p, x.input, now, fx); });
      self->state.last_seq = x.seq;
      self->state.current_seq = 0;
      apply(self, fx, now);
    },
    [self](timer_atom, timer_kind kind, int64_t armed_ms) {
      // This CAF timer is no longer on its way.
      auto now = now_of(self);
      auto& slot = self->state.timers[static_cast<size_t>(kind)];
      auto& armed = slot.armed;
      auto at =
        std::find(armed.begin(), armed.end(), mono_time{duration{armed_ms}});
      if (at != armed.end()) {
        armed.erase(at);
      }

      // Early for the latest request (it was superseded by a later one):
      // armed again for the rest.
      if (!slot.due || *slot.due > now) {
        arm_timer(self, kind, now);
        return;
      }

      auto generation = slot.generation;
      slot.due.reset();
      person_effects fx;
      update(self, [&](person& p) { p.on_timer(kind, generation, now, fx); });
      apply(self, fx, now);
    },
    [self](const settings_update& u) {
      update(self, [&](person& p) { p.set_settings(u.sync); });
    },
    [self](arm_atom) {
      auto now = now_of(self);
      for (size_t k = 0; k < timer_kind_count; ++k) {
        arm_timer(self, static_cast<timer_kind>(k), now);
      }
    },
    [self](rest_atom) {
      // The supervisor holds the machine as its snapshot, timers included,
      // and wakes the person before the next one is due.
      self->quit();
    },
    [self](caf::get_atom, view_atom, const std::string&) {
      return self->state.machine->view();
    },
    [self](caf::get_atom, journal_atom, const std::string&) {
      return journal_entries{self->state.machine->decisions().entries()};
    },
  };
}

std::optional<uint64_t> crashed_on(const caf::error& reason) {
  if (reason != caf::sec::runtime_error) {
    return std::nullopt;
  }
  const auto& ctx = reason.context();
  if (ctx.match_elements<uint64_t, std::string>()) {
    return ctx.get_as<uint64_t>(0);
  }
  return uint64_t{0};
}

} // namespace presync::actors
