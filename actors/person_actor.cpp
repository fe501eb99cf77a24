#include "actors/person_actor.hpp"

#include "actors/clock.hpp"

#include <algorithm>
#include <exception>
#include <string>
#include <utility>

namespace presync::actors {

namespace {

/// Carries out what the machine asked for after one input.
void apply(person_actor_type* self, const person_actor_args& args,
           person_effects& fx, mono_time now) {
  if (args.after_effects) {
    args.after_effects(self->state.machine->id(), fx);
  }

  for (const auto& t : fx.timers) {
    auto wait = delay_until(t.due, now);
    if (wait == duration{0}) {
      self->send(self, timer_atom::value, t.kind, t.generation);
    } else {
      self->delayed_send(self, wait, timer_atom::value, t.kind, t.generation);
    }
  }

  for (auto& req : fx.writes) {
    const auto& queue =
      req.to == side::teams ? args.teams_queue : args.connect_queue;
    self->send(queue, std::move(req));
  }

  // A copy of the whole machine: the supervisor restarts from it.
  self->send(args.supervisor, person_snapshot{self->state.machine->id(),
                                              std::make_shared<const person>(
                                                *self->state.machine),
                                              self->state.last_seq});
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
  auto now = now_of(self);
  person_effects fx;
  if (args.snapshot) {
    self->state.machine.emplace(*args.snapshot);
    if (args.settings) {
      self->state.machine->set_settings(args.settings); // a reload since
    }
    self->state.last_seq = args.last_seq;

    // Timers that fell due while the actor was down fire now, before the
    // inputs the supervisor replays (timers first, as at any instant).
    auto timers = self->state.machine->pending_timers();
    std::stable_sort(
      timers.begin(), timers.end(),
      [](const auto& a, const auto& b) { return a.due < b.due; });
    for (const auto& t : timers) {
      if (t.due <= now) {
        self->state.machine->on_timer(t.kind, t.generation, now, fx);
      } else {
        fx.timers.push_back(t);
      }
    }
  } else {
    self->state.machine.emplace(args.init, args.settings);
    self->state.machine->start(args.mode, now, fx);
  }
  apply(self, args, fx, now);

  return {
    [self, args](const sequenced_input& x) {
      auto now = now_of(self);
      self->state.current_seq = x.seq;
      if (args.before_input) {
        args.before_input(x.input);
      }
      person_effects fx;
      feed(*self->state.machine, x.input, now, fx);
      self->state.last_seq = x.seq;
      self->state.current_seq = 0;
      apply(self, args, fx, now);
    },
    [self, args](timer_atom, timer_kind kind, uint64_t generation) {
      auto now = now_of(self);
      person_effects fx;
      self->state.machine->on_timer(kind, generation, now, fx);
      apply(self, args, fx, now);
    },
    [self](const settings_update& u) {
      self->state.machine->set_settings(u.sync);
    },
    [self](caf::get_atom, view_atom, const std::string&) {
      return self->state.machine->view();
    },
    [self](caf::get_atom, journal_atom, const std::string&) {
      const auto& e = self->state.machine->decisions().entries();
      return journal_entries{{e.begin(), e.end()}};
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
