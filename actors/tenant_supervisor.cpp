#include "actors/tenant_supervisor.hpp"

#include "actors/clock.hpp"
#include "actors/write_queue_actor.hpp"
#include "adapters/log/log.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>
#include <utility>

namespace presync::actors {

namespace {

using self_ptr = tenant_supervisor_type*;

void log(self_ptr self, std::string level, std::string event,
         const std::string& person, std::string detail) {
  auto& st = self->state;
  st.cfg.log(log_event{std::move(level), std::move(event), st.cfg.tenant,
                       person, std::move(detail)});
}

void drop(self_ptr self, const std::string& reason) {
  ++self->state.counters.dropped[reason];
}

/// Spawns the person actor of `id` from its last snapshot (or from its
/// initial facts) and gives it every input it has not processed, in order.
void spawn_child(self_ptr self, const std::string& id) {
  auto& st = self->state;
  auto& slot = st.people.at(id);
  person_actor_args args{slot.init ? *slot.init : person_init{},
                         st.cfg.mode,
                         st.cfg.sync,
                         slot.snapshot,
                         slot.acked,
                         st.links};
  slot.child = self->spawn<caf::monitored>(person_actor, std::move(args));
  st.by_child[slot.child.id()] = id;
  for (const auto& x : slot.unacked) {
    self->send(slot.child, x);
  }
}

/// Returns when the earliest timer `p` waits for is due; nullopt: none.
std::optional<mono_time> next_due(const person& p) {
  std::optional<mono_time> out;
  for (const auto& t : p.pending_timers()) {
    if (!out || t.due < *out) {
      out = t.due;
    }
  }
  return out;
}

/// True when `slot`'s next timer is due by the next rest sweep, so that a
/// resting person must not wait for that sweep.
bool due_by_next_sweep(self_ptr self, const person_slot& slot) {
  auto due = slot.snapshot ? next_due(*slot.snapshot) : std::nullopt;
  return due && *due <= self->state.next_sweep;
}

/// Gives a resting person an actor again, from its snapshot.
void wake(self_ptr self, const std::string& id, person_slot& slot) {
  slot.resting = false;
  ++self->state.counters.woken;
  --self->state.counters.resting;
  spawn_child(self, id);
}

/// Numbers an input and forwards it to the person's actor, or keeps it
/// until the actor is back.
void deliver(self_ptr self, person_input in) {
  auto& st = self->state;
  auto found = st.people.find(person_of(in));
  if (found == st.people.end()) {
    drop(self, "unknown_person");
    return;
  }
  auto& slot = found->second;
  if (slot.failed) {
    drop(self, "person_failed");
    return;
  }

  if (st.cfg.on_delivered) {
    st.cfg.on_delivered(in);
  }
  sequenced_input x{++slot.next_seq, std::move(in)};
  if (slot.child && !slot.resting) {
    self->send(slot.child, x);
  }
  slot.unacked.push_back(std::move(x));
  // An actor asked to rest is ended first; its down wakes the person.
  if (!slot.child && slot.resting) {
    wake(self, found->first, slot);
  }
}

/// Answers the barriers at the front whose persons are all done, in order.
void pump_barriers(self_ptr self) {
  auto& q = self->state.barriers;
  while (!q.empty() && q.front().waits.empty()) {
    self->send(q.front().reply_to, applied_atom::value, q.front().token);
    q.pop_front();
  }
}

/// Tells the barriers that `id` has processed every input up to `acked`
/// (`acked` at its maximum: the person is gone or failed).
void on_acked(self_ptr self, const std::string& id, uint64_t acked) {
  bool any = false;
  for (auto& b : self->state.barriers) {
    auto i = b.waits.find(id);
    if (i != b.waits.end() && acked >= i->second) {
      b.waits.erase(i);
      any = true;
    }
  }
  if (any) {
    pump_barriers(self);
  }
}

/// Starts a barrier over every input accepted so far.
void add_barrier(self_ptr self, uint64_t token) {
  auto& st = self->state;
  pending_barrier b;
  b.token = token;
  b.reply_to = caf::actor_cast<caf::actor>(self->current_sender());
  for (const auto& [id, slot] : st.people) {
    if (!slot.failed && !slot.unacked.empty()) {
      b.waits.emplace(id, slot.unacked.back().seq);
    }
  }
  st.barriers.push_back(std::move(b));
  pump_barriers(self);
}

duration backoff_for(const supervision_settings& s, size_t recent) {
  auto d = s.initial_backoff;
  for (size_t i = 0; i < recent && d < s.max_backoff; ++i) {
    d *= 2;
  }
  return std::min(d, s.max_backoff);
}

/// Decides what follows the death of a person actor: skip a poison input,
/// give the person up, or restart it after a back-off.
void on_child_down(self_ptr self, const std::string& id,
                   const caf::error& reason) {
  auto& st = self->state;
  auto& slot = st.people.at(id);
  slot.child = nullptr;

  // Ended when asked to rest: the snapshot holds the person, unless
  // something arrived for it meanwhile or a timer is near.
  if (slot.resting && (!reason || reason == caf::exit_reason::normal)) {
    ++st.counters.rested;
    ++st.counters.resting;
    if (slot.unacked.empty()) {
      std::vector<sequenced_input>{}.swap(slot.unacked); // its capacity too
    }
    // A copy holds no spare capacity (the journal's buffer grows in steps),
    // and it is what stays while the person rests.
    slot.snapshot = std::make_shared<const person>(*slot.snapshot);
    if (!slot.unacked.empty() || due_by_next_sweep(self, slot)) {
      wake(self, id, slot);
    }
    return;
  }
  slot.resting = false;

  auto now = now_of(self);
  auto why = self->system().render(reason);

  // The actor threw on an input: its successor must not see that one.
  if (auto seq = crashed_on(reason); seq && *seq > 0) {
    auto& q = slot.unacked;
    auto poison = std::find_if(q.begin(), q.end(),
                               [&](const auto& x) { return x.seq == *seq; });
    if (poison != q.end()) {
      q.erase(poison);
      ++st.counters.poisoned;
      log(self, "warning", "poison_input_skipped", id,
          "input " + std::to_string(*seq) + ": " + why);
    }
  }

  // Too many restarts within the window: give the person up.
  auto& recent = slot.recent_restarts;
  const auto& sup = st.cfg.supervision;
  while (!recent.empty() && now - recent.front() >= sup.restart_window) {
    recent.erase(recent.begin());
  }
  if (recent.size() >= sup.max_restarts) {
    slot.failed = true;
    ++st.counters.failed;
    st.counters.failed_people.push_back(id);
    st.counters.dropped["person_failed"] += slot.unacked.size();
    slot.unacked.clear();
    on_acked(self, id, std::numeric_limits<uint64_t>::max());
    log(self, "error", "person_failed", id,
        std::to_string(recent.size()) + " restarts within " +
          format_duration(sup.restart_window) + ", last exit: " + why);
    return;
  }

  auto backoff = backoff_for(sup, recent.size());
  recent.push_back(now);
  auto gen = ++slot.restart_gen;
  log(self, "warning", "person_restarting", id,
      "in " + format_duration(backoff) + " after: " + why);
  if (backoff == duration{0}) {
    self->send(self, restart_atom::value, id, gen);
  } else {
    self->delayed_send(self, backoff, restart_atom::value, id, gen);
  }
}

/// Takes a person out: its actor ends and its slot is forgotten.
void remove(self_ptr self, const std::string& id) {
  auto& st = self->state;
  auto found = st.people.find(id);
  if (found == st.people.end()) {
    return;
  }
  auto& slot = found->second;
  if (slot.child) {
    st.by_child.erase(slot.child.id());
    self->send_exit(slot.child, caf::exit_reason::user_shutdown);
  } else if (slot.resting) {
    --st.counters.resting;
  }
  st.people.erase(found);
  on_acked(self, id, std::numeric_limits<uint64_t>::max());
}

/// Ends every actor of the tenant, then the supervisor itself.
void stop(self_ptr self, caf::error reason = caf::error{}) {
  auto& st = self->state;
  st.stopping = true;
  for (auto& [id, slot] : st.people) {
    if (slot.child) {
      self->send_exit(slot.child, caf::exit_reason::user_shutdown);
      slot.child = nullptr;
    }
  }
  self->send_exit(st.teams_queue, caf::exit_reason::user_shutdown);
  self->send_exit(st.connect_queue, caf::exit_reason::user_shutdown);
  self->quit(std::move(reason));
}

void on_down(self_ptr self, caf::down_msg& dm) {
  auto& st = self->state;
  if (st.stopping) {
    return;
  }
  auto found = st.by_child.find(dm.source.id());
  if (found != st.by_child.end()) {
    auto id = found->second;
    st.by_child.erase(found);
    on_child_down(self, id, dm.reason);
    return;
  }

  // A write queue died: the persons' writes have nowhere to go.
  // TODO: a crashed write queue ends the tenant instead of being
  // restarted; respawn it and hand the new handle to every person actor.
  if (dm.source == st.teams_queue || dm.source == st.connect_queue) {
    log(self, "error", "write_queue_failed", "",
        self->system().render(dm.reason));
    stop(self, dm.reason);
  }
}

/// Answers a request about a person: from its actor when it runs, so the
/// answer follows every input sent before; from the last snapshot while it
/// is down, resting or failed (a resting person has processed everything
/// it was given).
template <class Reply, class Atom, class FromSnapshot>
caf::result<Reply> ask_person(self_ptr self, Atom what, const std::string& id,
                              FromSnapshot from_snapshot) {
  auto& st = self->state;
  auto found = st.people.find(id);
  if (found == st.people.end()) {
    return caf::make_error(caf::sec::invalid_argument, "unknown person", id);
  }
  auto& slot = found->second;
  if (slot.child && !slot.resting) {
    self->delegate(slot.child, caf::get_atom::value, what, id);
    return caf::delegated<Reply>{};
  }
  if (!slot.snapshot) {
    return caf::make_error(caf::sec::invalid_argument, "person has not started",
                           id);
  }
  return from_snapshot(*slot.snapshot);
}

/// Looks at one person in the rest sweep: ends its actor if it was idle
/// since the last sweep, or has it woken shortly before a timer due by the
/// next sweep.
void visit(self_ptr self, const std::string& id, person_slot& slot,
           mono_time now) {
  if (slot.failed) {
    return;
  }
  const auto every = self->state.cfg.supervision.rest_after;
  if (slot.child && !slot.resting) {
    // A timer due by the next sweep may have been left unarmed as too far
    // off (person_links::arm_within, twice the period): arm it now. The
    // input that asked for it came at least a period ago, so its snapshot
    // is here.
    if (due_by_next_sweep(self, slot)) {
      self->send(slot.child, arm_atom::value);
    } else if (!slot.active && slot.unacked.empty() && slot.snapshot) {
      slot.resting = true;
      self->send(slot.child, rest_atom::value);
    }
  } else if (!slot.child && slot.resting && due_by_next_sweep(self, slot)) {
    // Woken a little before the timer rather than all at once here: a
    // sweep may find thousands due, and each wake spawns an actor.
    auto lead = std::min<duration>(std::chrono::seconds{1}, every / 2);
    auto at = *next_due(*slot.snapshot) - lead;
    if (at <= now) {
      wake(self, id, slot);
    } else {
      self->delayed_send(self, at - now, wake_atom::value, id);
    }
  }
  slot.active = false;
}

/// Buckets of the person map the sweep looks at in one turn, so that the
/// inputs that came meanwhile wait for a slice of the persons only.
constexpr uint64_t sweep_buckets_per_turn = 1024;

/// Goes on with the rest sweep at `bucket` of the person map and sends
/// itself the rest. `buckets` is the map's bucket count at the start; a
/// rehash since starts the sweep over (a person looked at twice is
/// harmless, one missed would miss a wake).
void sweep(self_ptr self, uint64_t bucket, uint64_t buckets) {
  auto& people = self->state.people;
  if (people.bucket_count() != buckets) {
    bucket = 0;
    buckets = people.bucket_count();
  }
  auto now = now_of(self);
  auto end = std::min(buckets, bucket + sweep_buckets_per_turn);
  for (; bucket < end; ++bucket) {
    for (auto i = people.begin(bucket); i != people.end(bucket); ++i) {
      visit(self, i->first, i->second, now);
    }
  }
  if (bucket < buckets) {
    self->send(self, rest_atom::value, bucket, buckets);
  }
}

} // namespace

log_sink json_log_sink() {
  return [](const log_event& e) {
    static const log::logger logger{"supervisor"};
    auto l = log::level::info;
    if (!log::parse_level(e.level, l)) {
      l = log::level::warning;
    }
    logger.write(l, e.event,
                 {log::kv("tenant", e.tenant), log::kv("person", e.person),
                  log::kv("detail", e.detail)});
  };
}

caf::behavior tenant_supervisor(tenant_supervisor_type* self,
                                tenant_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  if (!st.cfg.log) {
    st.cfg.log = json_log_sink();
  }
  self->set_down_handler([self](caf::down_msg& dm) { on_down(self, dm); });

  // The queues first: every person actor gets their handles.
  auto me = caf::actor_cast<caf::actor>(self);
  st.teams_queue = self->spawn<caf::monitored>(
    write_queue_actor,
    write_queue_args{st.cfg.teams_limits, st.cfg.teams_writer, me});
  st.connect_queue = self->spawn<caf::monitored>(
    write_queue_actor,
    write_queue_args{st.cfg.connect_limits, st.cfg.connect_writer, me});
  st.links = std::make_shared<const person_links>(
    person_links{me, st.teams_queue, st.connect_queue, st.cfg.before_input,
                 st.cfg.on_effects, 2 * st.cfg.supervision.rest_after});
  for (const auto& init : st.cfg.people) {
    auto& slot = st.people[init.id];
    slot.init = std::make_unique<person_init>(init);
    if (auto stored = st.cfg.stored.find(init.id);
        stored != st.cfg.stored.end()) {
      slot.snapshot = stored->second;
    }
  }
  st.cfg.stored.clear(); // the slots hold them now
  for (const auto& init : st.cfg.people) {
    spawn_child(self, init.id);
  }
  // The slots hold each person's initial facts now.
  st.cfg.people.clear();
  st.cfg.people.shrink_to_fit();
  if (st.cfg.supervision.rest_after > duration{0}) {
    st.next_sweep = now_of(self) + st.cfg.supervision.rest_after;
    self->delayed_send(self, st.cfg.supervision.rest_after, rest_atom::value);
  }

  return {
    [self](connect_change& x) { deliver(self, std::move(x)); },
    [self](connect_batch& b) {
      for (auto& x : b.changes) {
        deliver(self, std::move(x));
      }
    },
    [self](teams_observation& x) { deliver(self, std::move(x)); },
    [self](write_result& x) { deliver(self, std::move(x)); },
    [self](write_waiting& x) { deliver(self, std::move(x)); },
    [self](person_snapshot& s) {
      auto found = self->state.people.find(s.person);
      if (found == self->state.people.end()) {
        return;
      }

      // Only the current actor's snapshots count.
      auto& slot = found->second;
      auto from = caf::actor_cast<caf::actor_addr>(self->current_sender());
      if (!slot.child || from != slot.child.address()) {
        return;
      }
      slot.snapshot = std::move(s.machine);
      slot.acked = s.last_seq;
      slot.active = true;
      auto done =
        std::find_if(slot.unacked.begin(), slot.unacked.end(),
                     [&](const auto& x) { return x.seq > slot.acked; });
      slot.unacked.erase(slot.unacked.begin(), done);
      // A backlog's capacity is not kept for every person (about 200
      // bytes each at 100,000); one input's is.
      if (slot.unacked.empty() && slot.unacked.capacity() > 1) {
        slot.unacked.shrink_to_fit();
      }
      slot.init.reset();
      if (self->state.cfg.on_snapshot) {
        self->state.cfg.on_snapshot(s.person, slot.snapshot);
      }
      on_acked(self, s.person, slot.acked);
    },
    [self](restart_atom, const std::string& id, uint64_t gen) {
      auto& st = self->state;
      auto found = st.people.find(id);
      if (st.stopping || found == st.people.end()) {
        return;
      }
      auto& slot = found->second;
      if (slot.failed || slot.child || gen != slot.restart_gen) {
        return;
      }
      ++st.counters.restarts;
      spawn_child(self, id);
      log(self, "info", "person_restarted", id,
          std::to_string(slot.unacked.size()) + " inputs replayed");
    },
    [self](caf::get_atom, view_atom v, const std::string& id) {
      return ask_person<person_view>(self, v, id,
                                     [](const person& p) { return p.view(); });
    },
    [self](caf::get_atom, journal_atom j, const std::string& id) {
      return ask_person<journal_entries>(self, j, id, [](const person& p) {
        return journal_entries{p.decisions().entries()};
      });
    },
    [self](caf::get_atom, counters_atom) { return self->state.counters; },
    [self](caf::get_atom, child_atom, const std::string& id) {
      auto found = self->state.people.find(id);
      return found == self->state.people.end() ? caf::actor{}
                                               : found->second.child;
    },
    [self](const settings_update& u) {
      // Persons spawned from now on, restarted ones included, get the new
      // settings; running ones are told.
      auto& st = self->state;
      st.cfg.sync = u.sync;
      st.cfg.teams_limits = u.teams_limits;
      st.cfg.connect_limits = u.connect_limits;
      for (auto& [id, slot] : st.people) {
        if (slot.child) {
          self->send(slot.child, u);
        }
      }
      self->send(st.teams_queue, u.teams_limits);
      self->send(st.connect_queue, u.connect_limits);
      log(self, "info", "settings_applied", "",
          std::to_string(st.people.size()) + " persons");
    },
    [self](add_person& a) {
      auto id = a.init.id;
      remove(self, id);
      self->state.people[id].init =
        std::make_unique<person_init>(std::move(a.init));
      spawn_child(self, id);
      log(self, "info", "person_added", id, "");
    },
    [self](const remove_person& r) {
      remove(self, r.id);
      if (self->state.cfg.on_snapshot) {
        self->state.cfg.on_snapshot(r.id, nullptr);
      }
      log(self, "info", "person_removed", r.id, "");
    },
    [self](applied_atom, uint64_t token) { add_barrier(self, token); },
    [self](caf::get_atom, queues_atom) {
      return std::vector<caf::actor>{self->state.teams_queue,
                                     self->state.connect_queue};
    },
    [self](timer_atom t, const std::string& id, timer_kind kind, int64_t ms) {
      // A person's delayed timer (actors/person_actor.cpp, arm_timer), for
      // its actor if it runs; a resting or restarting person arms its
      // timers again from its snapshot.
      auto found = self->state.people.find(id);
      if (found != self->state.people.end() && found->second.child &&
          !found->second.resting) {
        self->send(found->second.child, t, kind, ms);
      }
    },
    [self](wake_atom, const std::string& id) {
      auto found = self->state.people.find(id);
      if (found != self->state.people.end() && !found->second.child &&
          found->second.resting) {
        wake(self, id, found->second);
      }
    },
    [self](rest_atom) {
      // The sweep's period: it starts now and goes on in turns.
      auto& st = self->state;
      if (st.stopping) {
        return;
      }
      auto every = st.cfg.supervision.rest_after;
      st.next_sweep = now_of(self) + every;
      self->delayed_send(self, every, rest_atom::value);
      sweep(self, 0, st.people.bucket_count());
    },
    [self](rest_atom, uint64_t bucket, uint64_t buckets) {
      if (!self->state.stopping) {
        sweep(self, bucket, buckets);
      }
    },
    [self](stop_atom) { stop(self); },
  };
}

caf::actor spawn_tenant_supervisor(caf::actor_system& sys, tenant_config cfg) {
  return sys.spawn(tenant_supervisor, std::move(cfg));
}

} // namespace presync::actors
