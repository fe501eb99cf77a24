#include "actors/tenant_supervisor.hpp"

#include "story_player.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>

namespace presync::actors::testing {
namespace {

using namespace std::chrono_literals;

/// Throws on a Connect state named "Boom": a stand-in for a bug that
/// crashes a person actor on one particular message.
void throw_on_boom(const person_input& in) {
  auto* c = std::get_if<connect_change>(&in);
  if (c != nullptr && c->state == "Boom") {
    throw std::runtime_error("cannot handle Boom");
  }
}

class TenantSupervisor : public actor_fixture {
 protected:
  caf::actor start(input_hook hook = {}, std::string tenant = "t1",
                   supervision_settings supervision = {}) {
    writer_ = spawn_writer();
    tenant_config cfg;
    cfg.tenant = std::move(tenant);
    cfg.people = {available_person("alice"), available_person("bob")};
    cfg.mode = start_mode::resumed;
    cfg.before_input = std::move(hook);
    cfg.supervision = supervision;
    return start_tenant(std::move(cfg), writer_);
  }

  bool was_logged(const std::string& event, const std::string& person) {
    return std::any_of(logged_.begin(), logged_.end(), [&](const auto& e) {
      return e.event == event && e.person == person;
    });
  }

  caf::actor writer_;
};

std::vector<std::string> describe(const std::vector<write_record>& rs) {
  std::vector<std::string> out;
  for (const auto& r : rs) {
    out.push_back(format_offset(r.at) + " " + std::string{to_string(r.to)} +
                  " " + r.person + " " + r.value);
  }
  return out;
}

TEST_F(TenantSupervisor, KilledPersonResumesItsHoldAfterTheBackOff) {
  auto s = load_story(PRESYNC_SHARED_DIR "/scenarios/on-contact-busy.yaml");
  ASSERT_TRUE(s.has_value());
  story_player player{*this, *s}; // default back-off: 100 ms
  disturbance d;
  d.kill_at = 5s; // bob's hold runs until 15 s

  auto r = player.play(d);

  EXPECT_EQ(sim::first_difference(*s, r), "");
  EXPECT_EQ(player.kills(), 1u);
  EXPECT_EQ(counters(player.supervisor()).restarts, 1u);
}

TEST_F(TenantSupervisor, InputThrownOnIsSkippedAndLaterInputsApply) {
  auto sup = start(throw_on_boom);
  advance_to(1s);
  send(sup, connect_change{"alice", "Boom", 1000});
  advance_to(2s);
  send(sup, connect_change{"alice", "OnContact", 2000});

  advance_to(60s);

  auto c = counters(sup);
  EXPECT_EQ(c.poisoned, 1u);
  EXPECT_EQ(c.restarts, 1u);
  EXPECT_EQ(c.failed, 0u);
  EXPECT_TRUE(was_logged("poison_input_skipped", "alice"));
  EXPECT_EQ(view(sup, "alice")->connect_state, "OnContact");
  EXPECT_EQ(describe(writes(writer_)),
            std::vector<std::string>{"17s teams alice Busy/InACall"});
}

TEST_F(TenantSupervisor, RestartLimitMarksPersonFailedAndOthersCarryOn) {
  auto sup = start(throw_on_boom);
  // Six crashes within a minute; restarts follow 100, 200, 400, 800 and
  // 1600 ms after the first five.
  for (auto t : {1s, 2s, 3s, 5s, 8s, 12s}) {
    advance_to(t);
    send(sup, connect_change{"alice", "Boom", duration{t}.count()});
  }

  advance_to(13s);
  send(sup, connect_change{"alice", "OnContact", 13000});
  send(sup, connect_change{"bob", "OnContact", 13000});
  advance_to(60s);

  auto c = counters(sup);
  EXPECT_EQ(c.restarts, 5u);
  EXPECT_EQ(c.poisoned, 6u);
  EXPECT_EQ(c.failed, 1u);
  EXPECT_EQ(c.failed_people, std::vector<std::string>{"alice"});
  EXPECT_EQ(c.dropped_for("person_failed"), 1u);
  EXPECT_TRUE(was_logged("person_failed", "alice"));
  EXPECT_FALSE(child(sup, "alice"));
  EXPECT_EQ(view(sup, "alice")->connect_state, "Available");
  EXPECT_EQ(describe(writes(writer_)),
            std::vector<std::string>{"28s teams bob Busy/InACall"});
}

TEST_F(TenantSupervisor, BatchedChangesApplyAsIfEachCameAlone) {
  auto sup = start();
  send(sup, connect_batch{{connect_change{"alice", "OnContact", 0},
                           connect_change{"bob", "Lunch", 0},
                           connect_change{"bob", "OnContact", 1}}});

  advance_to(60s);

  EXPECT_EQ(describe(writes(writer_)),
            (std::vector<std::string>{"15s teams alice Busy/InACall",
                                      "15s teams bob Busy/InACall"}));
  EXPECT_EQ(view(sup, "bob")->connect_state, "OnContact");
}

TEST_F(TenantSupervisor, BackOffDoublesBetweenRestarts) {
  auto sup = start(throw_on_boom);
  advance_to(1s);
  send(sup, connect_change{"alice", "Boom", 1000});
  advance_to(1099ms);
  auto down_before_first = !child(sup, "alice");
  advance_to(1100ms);
  auto up_after_first = static_cast<bool>(child(sup, "alice"));

  send(sup, connect_change{"alice", "Boom", 1100});
  advance_to(1299ms);
  auto down_before_second = !child(sup, "alice");
  advance_to(1300ms);

  EXPECT_TRUE(down_before_first);
  EXPECT_TRUE(up_after_first);
  EXPECT_TRUE(down_before_second);
  EXPECT_TRUE(child(sup, "alice"));
  EXPECT_EQ(counters(sup).restarts, 2u);
}

TEST_F(TenantSupervisor, InputsDuringBackOffAreDeliveredInOrderAfterRespawn) {
  auto sup = start();
  advance_to(1s);
  caf::anon_send_exit(child(sup, "alice"), caf::exit_reason::kill);
  run();

  advance_to(1050ms);
  send(sup, connect_change{"alice", "Lunch", 1050});
  send(sup, connect_change{"alice", "OnContact", 1060});
  auto during = view(sup, "alice");
  advance_to(60s);

  ASSERT_TRUE(during.has_value());
  EXPECT_EQ(during->connect_state, "Available"); // the last snapshot
  EXPECT_EQ(view(sup, "alice")->connect_state, "OnContact");
  auto c = counters(sup);
  EXPECT_EQ(c.restarts, 1u);
  EXPECT_EQ(c.poisoned, 0u); // a kill is not a crash on an input
  // The inputs reached the new actor at 1.1 s, when it came back.
  EXPECT_EQ(describe(writes(writer_)),
            std::vector<std::string>{"16100ms teams alice Busy/InACall"});
}

TEST_F(TenantSupervisor, TimerDueDuringBackOffFiresBeforeBufferedInputs) {
  auto sup = start();
  send(sup, connect_change{"alice", "OnContact", 0});
  advance_to(14950ms);
  caf::anon_send_exit(child(sup, "alice"), caf::exit_reason::kill);
  run();

  // The hold comes due at 15 s, while alice's actor is still down.
  advance_to(15s);
  send(sup, connect_change{"alice", "Available", 15000});
  advance_to(60s);

  // Respawned at 15.05 s: the hold fires first and writes Busy. Had the
  // buffered Available gone first, it would have cancelled the hold and
  // Busy would never have been written.
  auto ws = describe(writes(writer_));
  ASSERT_FALSE(ws.empty());
  EXPECT_EQ(ws.front(), "15050ms teams alice Busy/InACall");
  EXPECT_EQ(view(sup, "alice")->connect_state, "Available");
}

TEST_F(TenantSupervisor, CrashInOneTenantLeavesAnotherUntouched) {
  auto a = start(throw_on_boom, "a");
  auto writer_a = writer_;
  auto b = start(throw_on_boom, "b");
  auto writer_b = writer_;

  advance_to(1s);
  send(a, connect_change{"alice", "Boom", 1000});
  send(b, connect_change{"alice", "OnContact", 1000});
  advance_to(2s);
  send(a, connect_change{"alice", "OnContact", 2000});
  advance_to(60s);

  EXPECT_EQ(counters(a).restarts, 1u);
  EXPECT_EQ(counters(b).restarts, 0u);
  EXPECT_EQ(counters(b).poisoned, 0u);
  EXPECT_EQ(describe(writes(writer_a)),
            std::vector<std::string>{"17s teams alice Busy/InACall"});
  EXPECT_EQ(describe(writes(writer_b)),
            std::vector<std::string>{"16s teams alice Busy/InACall"});
}

TEST_F(TenantSupervisor, StopEndsEveryActorOfTheTenant) {
  auto sup = start();
  auto alice = child(sup, "alice");
  ASSERT_TRUE(alice);
  self_->monitor(alice);
  self_->monitor(sup);

  self_->send(sup, stop_atom::value);
  run();

  std::vector<caf::error> reasons;
  for (int i = 0; i < 2; ++i) {
    self_->receive([&](caf::down_msg& dm) { reasons.push_back(dm.reason); },
                   caf::after(std::chrono::seconds(0)) >> [] {});
  }
  // Every timer the tenant had armed falls on dead actors: none re-arms.
  advance_to(10min);

  ASSERT_EQ(reasons.size(), 2u);
  EXPECT_EQ(std::count(reasons.begin(), reasons.end(),
                       caf::error{caf::exit_reason::user_shutdown}),
            1);
  EXPECT_EQ(std::count(reasons.begin(), reasons.end(), caf::error{}), 1);
  EXPECT_TRUE(sched_.clock().schedule().empty());
}

} // namespace
} // namespace presync::actors::testing

namespace presync::actors::testing {
namespace {

TEST_F(TenantSupervisor, AddedPersonSyncsAndRemovedPersonIsForgotten) {
  auto sup = start();
  advance_to(1s);

  // carol arrives with the directory; alice leaves it.
  send(sup, add_person{available_person("carol")});
  send(sup, remove_person{"alice"});
  advance_to(2s);
  send(sup, connect_change{"carol", "OnContact", 2000});
  send(sup, connect_change{"alice", "OnContact", 2000});
  advance_to(30s);

  EXPECT_EQ(view(sup, "carol")->connect_state, "OnContact");
  EXPECT_FALSE(child(sup, "alice")); // no such person any more
  EXPECT_EQ(counters(sup).dropped_for("unknown_person"), 1u);
  EXPECT_EQ(counters(sup).restarts, 0u); // a removal is no crash
  EXPECT_TRUE(was_logged("person_added", "carol"));
  EXPECT_TRUE(was_logged("person_removed", "alice"));
  EXPECT_EQ(describe(writes(writer_)),
            std::vector<std::string>{"17s teams carol Busy/InACall"});
}

TEST_F(TenantSupervisor, NewSettingsApplyToRunningAndRestartedPersons) {
  auto sup = start(throw_on_boom);
  advance_to(1s);

  // A reload shortens min_hold to 5 s and maps OnContact elsewhere.
  auto next = std::make_shared<sync_settings>();
  next->min_hold = 5s;
  next->connect_to_teams.entries.insert(
    next->connect_to_teams.entries.begin(),
    {"OnContact", teams_target::of({"DoNotDisturb", "Presenting"})});
  self_->send(sup, settings_update{next, {}, {}});
  run();
  send(sup, connect_change{"alice", "OnContact", 1000});

  // bob crashes and restarts from a snapshot taken before the reload.
  advance_to(2s);
  send(sup, connect_change{"bob", "Boom", 2000});
  advance_to(3s);
  send(sup, connect_change{"bob", "OnContact", 3000});
  advance_to(30s);

  EXPECT_EQ(describe(writes(writer_)),
            (std::vector<std::string>{"6s teams alice DoNotDisturb/Presenting",
                                      "8s teams bob DoNotDisturb/Presenting"}));
  EXPECT_TRUE(was_logged("settings_applied", ""));
}

// -- resting ------------------------------------------------------------------

class TenantSupervisorResting : public TenantSupervisor {
 protected:
  caf::actor start_resting(duration every) {
    supervision_settings s;
    s.rest_after = every;
    return start({}, "t1", s);
  }
};

TEST_F(TenantSupervisorResting, IdlePersonRestsAndAnInputWakesIt) {
  auto sup = start_resting(10s);
  send(sup, connect_change{"alice", "Lunch", 0});
  advance_to(5s);
  send(sup, connect_change{"alice", "Available", 5000}); // hold until 20 s

  // bob has done nothing since his start: the sweep at 10 s sees that
  // start, the one at 20 s finds him idle. alice's hold is due by the
  // next sweep at 20 s and fires then; the sweep at 40 s finds her idle.
  advance_to(15s);
  EXPECT_EQ(counters(sup).rested, 0u);
  advance_to(25s);
  EXPECT_EQ(counters(sup).rested, 1u);
  EXPECT_FALSE(child(sup, "bob"));
  EXPECT_TRUE(child(sup, "alice"));
  auto journal_before = journal(sup, "alice");
  ASSERT_TRUE(journal_before.has_value());
  advance_to(45s);
  auto c = counters(sup);
  EXPECT_EQ(c.rested, 2u);
  EXPECT_EQ(c.resting, 2u);
  EXPECT_FALSE(child(sup, "alice"));
  // A resting person answers from its snapshot, journal included.
  EXPECT_EQ(view(sup, "alice")->connect_state, "Available");
  auto journal_resting = journal(sup, "alice");
  ASSERT_TRUE(journal_resting.has_value());
  EXPECT_EQ(journal_resting->entries.size(), journal_before->entries.size());

  send(sup, connect_change{"alice", "OnContact", 45000});
  c = counters(sup);
  EXPECT_EQ(c.woken, 1u);
  EXPECT_EQ(c.resting, 1u);
  EXPECT_TRUE(child(sup, "alice"));
  EXPECT_FALSE(child(sup, "bob"));
  advance_to(90s);

  EXPECT_EQ(describe(writes(writer_)),
            std::vector<std::string>{"1m teams alice Busy/InACall"});
  EXPECT_EQ(view(sup, "alice")->connect_state, "OnContact");
  EXPECT_GT(journal(sup, "alice")->entries.size(),
            journal_before->entries.size());
  EXPECT_EQ(counters(sup).restarts, 0u);
}

TEST_F(TenantSupervisorResting, RestingPersonIsWokenAheadOfItsTimer) {
  auto sup = start_resting(2s);
  advance_to(1s);
  send(sup, connect_change{"alice", "OnContact", 1000}); // hold until 16 s

  // Idle from the sweep at 4 s on, alice rests with her hold pending. The
  // sweep at 14 s, whose successor would be too late, has her woken a
  // second (half the period here) before the hold ends.
  advance_to(5s);
  EXPECT_FALSE(child(sup, "alice"));
  advance_to(14s);
  EXPECT_FALSE(child(sup, "alice"));
  advance_to(14999ms);
  EXPECT_FALSE(child(sup, "alice"));
  advance_to(15s);
  EXPECT_TRUE(child(sup, "alice"));
  advance_to(30s);

  EXPECT_EQ(describe(writes(writer_)),
            std::vector<std::string>{"16s teams alice Busy/InACall"});
  auto c = counters(sup);
  EXPECT_GE(c.woken, 1u);
  EXPECT_EQ(c.restarts, 0u);
  EXPECT_EQ(view(sup, "alice")->connect_state, "OnContact");
}

TEST_F(TenantSupervisorResting, InputArrivingWhileAnActorEndsIsNotLost) {
  auto sup = start_resting(10s);
  advance_to(19s);
  EXPECT_TRUE(child(sup, "alice"));

  // The sweep at 20 s asks both actors to rest; alice's input reaches the
  // supervisor before her actor has ended.
  sched_.clock().advance_time(1s);
  self_->send(sup, connect_change{"alice", "OnContact", 20000});
  run();

  auto c = counters(sup);
  EXPECT_EQ(c.rested, 2u);
  EXPECT_EQ(c.woken, 1u);
  EXPECT_TRUE(child(sup, "alice"));
  EXPECT_EQ(view(sup, "alice")->connect_state, "OnContact");
  advance_to(60s);
  EXPECT_EQ(describe(writes(writer_)),
            std::vector<std::string>{"35s teams alice Busy/InACall"});
}

TEST_F(TenantSupervisorResting, CrashedPersonIsRestartedNotRested) {
  supervision_settings s;
  s.rest_after = 1s;
  auto sup = start(throw_on_boom, "t1", s);
  advance_to(3s); // both rest
  ASSERT_EQ(counters(sup).resting, 2u);

  // Woken by an input it throws on: a crash, counted and restarted after
  // the 100 ms back-off as ever, with the later input applied. Resting
  // again with the hold pending, alice is woken once more ahead of it.
  advance_to(6s);
  send(sup, connect_change{"alice", "Boom", 6000});
  send(sup, connect_change{"alice", "OnContact", 6000});
  advance_to(30s);

  auto c = counters(sup);
  EXPECT_EQ(c.poisoned, 1u);
  EXPECT_EQ(c.restarts, 1u);
  EXPECT_EQ(c.woken, 2u);
  EXPECT_EQ(view(sup, "alice")->connect_state, "OnContact");
  EXPECT_EQ(describe(writes(writer_)),
            std::vector<std::string>{"21100ms teams alice Busy/InACall"});
}

} // namespace
} // namespace presync::actors::testing

// -- durability (issue #6) ----------------------------------------------------

namespace presync::actors::testing {
namespace {

class TenantSupervisorDurability : public TenantSupervisor {
 protected:
  /// Returns the barrier answers that reached the test so far.
  std::vector<uint64_t> barriers_passed() {
    std::vector<uint64_t> out;
    while (!self_->mailbox().empty()) {
      self_->receive(
        [&](applied_atom, uint64_t token) { out.push_back(token); });
    }
    return out;
  }
};

TEST_F(TenantSupervisorDurability, BarrierWaitsForAPersonThatIsDown) {
  auto sup = start(throw_on_boom);
  advance_to(1s);

  // alice crashes and waits 100 ms for her restart; the inputs given
  // meanwhile, and the barrier behind them, wait with her.
  send(sup, connect_change{"alice", "Boom", 1000});
  send(sup, connect_change{"alice", "Lunch", 1001});
  self_->send(sup, applied_atom::value, uint64_t{7});
  run();
  auto while_down = barriers_passed();
  advance_to(1100ms);

  EXPECT_TRUE(while_down.empty());
  EXPECT_EQ(barriers_passed(), std::vector<uint64_t>{7});
  EXPECT_EQ(view(sup, "alice")->connect_state, "Lunch");
}

TEST_F(TenantSupervisorDurability, BarriersAreAnsweredInTheOrderAsked) {
  auto sup = start();
  advance_to(1s);

  self_->send(sup, applied_atom::value, uint64_t{1}); // nothing to wait for
  send(sup, connect_change{"bob", "Lunch", 1000});
  self_->send(sup, applied_atom::value, uint64_t{2});
  run();

  EXPECT_EQ(barriers_passed(), (std::vector<uint64_t>{1, 2}));
}

TEST_F(TenantSupervisorDurability, SnapshotHookSeesEveryAcceptedState) {
  writer_ = spawn_writer();
  // Shared with the hook, which may outlive the test body.
  auto log = std::make_shared<std::vector<std::string>>();
  auto& seen = *log;
  tenant_config cfg;
  cfg.tenant = "t1";
  cfg.people = {available_person("alice")};
  cfg.on_snapshot = [log](const std::string& id,
                          const std::shared_ptr<const person>& p) {
    log->push_back(id + " " + (p ? p->view().connect_state : "removed"));
  };
  auto sup = start_tenant(std::move(cfg), writer_);

  send(sup, connect_change{"alice", "Lunch", 1000});
  send(sup, remove_person{"alice"});

  ASSERT_GE(seen.size(), 3u);
  EXPECT_EQ(seen.front(), "alice Available"); // the start
  EXPECT_EQ(seen[seen.size() - 2], "alice Lunch");
  EXPECT_EQ(seen.back(), "alice removed");
}

TEST_F(TenantSupervisorDurability, ASnapshotKeepsItsStateAfterLaterInputs) {
  // The supervisor shares the person actor's machine instead of copying
  // it, so the actor must never change a machine it has handed over.
  writer_ = spawn_writer();
  auto kept = std::make_shared<std::vector<std::shared_ptr<const person>>>();
  tenant_config cfg;
  cfg.tenant = "t1";
  cfg.people = {available_person("alice")};
  cfg.on_snapshot = [kept](const std::string&,
                           const std::shared_ptr<const person>& p) {
    kept->push_back(p);
  };
  auto sup = start_tenant(std::move(cfg), writer_);
  send(sup, connect_change{"alice", "Lunch", 1000});
  run();
  ASSERT_FALSE(kept->empty());
  auto after_lunch = kept->back();
  auto entries = after_lunch->decisions().size();

  send(sup, connect_change{"alice", "Break", 2000});
  send(sup, connect_change{"alice", "Training", 3000});
  run();

  EXPECT_EQ(after_lunch->view().connect_state, "Lunch");
  EXPECT_EQ(after_lunch->decisions().size(), entries);
  EXPECT_NE(kept->back().get(), after_lunch.get());
  EXPECT_EQ(kept->back()->view().connect_state, "Training");
  EXPECT_EQ(view(sup, "alice")->connect_state, "Training");
}

TEST_F(TenantSupervisorDurability, StoredPersonResumesWithoutAFreshStartWrite) {
  writer_ = spawn_writer();
  auto settings = std::make_shared<const sync_settings>();

  // alice's stored machine already shows her projection; bob has none.
  person stored_alice{available_person("alice"), settings};
  person_effects ignored;
  stored_alice.start(start_mode::resumed, now(), ignored);
  tenant_config cfg;
  cfg.tenant = "t1";
  cfg.sync = settings;
  cfg.people = {available_person("alice"), available_person("bob")};
  cfg.stored["alice"] = std::make_shared<const person>(stored_alice);
  auto sup = start_tenant(std::move(cfg), writer_);
  advance_to(1s);

  EXPECT_EQ(describe(writes(writer_)),
            std::vector<std::string>{"0s teams bob Available/Available"});
  ASSERT_TRUE(view(sup, "alice")->session.has_value());
  EXPECT_EQ(view(sup, "alice")->session->describe(), "Available/Available");
}

} // namespace
} // namespace presync::actors::testing
