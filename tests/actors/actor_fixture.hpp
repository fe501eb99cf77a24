// A deterministic actor system for tests: CAF 0.17's test_coordinator runs
// every actor on the test's thread, and the test moves the clock.
#pragma once

#include "actors/clock.hpp"
#include "actors/memory_writer.hpp"
#include "actors/messages.hpp"
#include "actors/tenant_supervisor.hpp"
#include "protocol/person.hpp"
#include "protocol/time.hpp"

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace presync::actors::testing {

struct testing_config : caf::actor_system_config {
  testing_config() { set("scheduler.policy", caf::atom("testing")); }
};

/// Returns a person with both sides showing Available.
inline person_init available_person(std::string id) {
  person_init p;
  p.id = std::move(id);
  p.connect_state = "Available";
  p.teams_presence = {"Available", "Available"};
  return p;
}

class actor_fixture : public ::testing::Test {
 public:
  actor_fixture()
    : sys_(cfg_),
      sched_(dynamic_cast<caf::scheduler::test_coordinator&>(sys_.scheduler())),
      self_(sys_, true) {}

  ~actor_fixture() override {
    // Persons re-arm refresh timers for ever: stop every tenant before the
    // actor system's destructor drains the clock.
    for (const auto& sup : supervisors_) {
      caf::anon_send(sup, stop_atom::value);
    }
    for (const auto& w : writers_) {
      caf::anon_send_exit(w, caf::exit_reason::user_shutdown);
    }
    sched_.run();
  }

  /// Runs every job until the mailboxes are empty (the clock stands still).
  void run() { sched_.run(); }

  /// Returns how many timers the actor clock holds.
  size_t scheduled_timers() { return sched_.clock().schedule().size(); }

  /// Returns the simulated instant.
  mono_time now() const { return to_mono(sched_.clock().now()); }

  /// Moves the clock to `t`, firing every timer due on the way in order
  /// and running what each of them sets off before the next one.
  void advance_to(mono_time t) {
    run();
    auto& clock = sched_.clock();
    while (!clock.schedule().empty()) {
      auto due = clock.schedule().begin()->first;
      if (to_mono(due) > t) {
        break;
      }
      auto step = due > clock.now() ? due - clock.now() : caf::timespan{0};
      clock.advance_time(step);
      run();
    }
    // The clock started 1 ns after zero; keep that offset.
    auto target = caf::actor_clock::time_point{t.time_since_epoch()} +
                  std::chrono::nanoseconds{1};
    if (target > clock.now()) {
      clock.advance_time(target - clock.now());
    }
    run();
  }

  void advance_to(duration d) { advance_to(at(d)); }

  /// Sends a request and returns its answer once every job has run.
  template <class T, class... Ts>
  std::optional<T> ask(const caf::actor& dest, Ts&&... xs) {
    auto handle = self_->request(dest, caf::infinite, std::forward<Ts>(xs)...);
    run();
    std::optional<T> result;
    if (self_->mailbox().empty()) {
      ADD_FAILURE() << "no answer to the request";
      return result;
    }
    handle.receive([&](T& x) { result = std::move(x); },
                   [&](caf::error& e) {
                     ADD_FAILURE() << "request failed: " << sys_.render(e);
                   });
    return result;
  }

  /// Spawns a tenant whose both sides are served by `writer`; the fixture
  /// stops it at the end.
  caf::actor start_tenant(tenant_config cfg, const caf::actor& writer) {
    cfg.teams_writer = writer;
    cfg.connect_writer = writer;
    if (!cfg.sync) {
      cfg.sync = std::make_shared<sync_settings>();
    }
    if (!cfg.log) {
      cfg.log = [this](const log_event& e) {
        logged_.push_back(e);
      };
    }
    auto sup = spawn_tenant_supervisor(sys_, std::move(cfg));
    supervisors_.push_back(sup);
    run();
    return sup;
  }

  caf::actor spawn_writer() {
    writers_.push_back(spawn_memory_writer(sys_));
    return writers_.back();
  }

  std::vector<write_record> records(const caf::actor& writer) {
    auto r =
      ask<write_records>(writer, caf::get_atom::value, records_atom::value);
    return r ? r->records : std::vector<write_record>{};
  }

  /// Returns only the writes (not refreshes) a writer saw.
  std::vector<write_record> writes(const caf::actor& writer) {
    std::vector<write_record> out;
    for (auto& r : records(writer)) {
      if (r.kind == write_kind::write) {
        out.push_back(std::move(r));
      }
    }
    return out;
  }

  std::optional<person_view> view(const caf::actor& sup,
                                  const std::string& id) {
    return ask<person_view>(sup, caf::get_atom::value, view_atom::value, id);
  }

  std::optional<journal_entries> journal(const caf::actor& sup,
                                         const std::string& id) {
    return ask<journal_entries>(sup, caf::get_atom::value, journal_atom::value,
                                id);
  }

  supervisor_counters counters(const caf::actor& sup) {
    auto c =
      ask<supervisor_counters>(sup, caf::get_atom::value, counters_atom::value);
    return c ? *c : supervisor_counters{};
  }

  caf::actor child(const caf::actor& sup, const std::string& id) {
    auto c = ask<caf::actor>(sup, caf::get_atom::value, child_atom::value, id);
    return c ? *c : caf::actor{};
  }

  void send(const caf::actor& dest, connect_change x) {
    self_->send(dest, std::move(x));
    run();
  }

  void send(const caf::actor& dest, connect_batch x) {
    self_->send(dest, std::move(x));
    run();
  }

  void send(const caf::actor& dest, teams_observation x) {
    self_->send(dest, std::move(x));
    run();
  }

  void send(const caf::actor& dest, add_person x) {
    self_->send(dest, std::move(x));
    run();
  }

  void send(const caf::actor& dest, remove_person x) {
    self_->send(dest, std::move(x));
    run();
  }

  testing_config cfg_;
  caf::actor_system sys_;
  caf::scheduler::test_coordinator& sched_;
  caf::scoped_actor self_;
  std::vector<caf::actor> supervisors_;
  std::vector<caf::actor> writers_;
  std::vector<log_event> logged_;
};

} // namespace presync::actors::testing
