#include "actors/person_actor.hpp"

#include "actor_fixture.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>

namespace presync::actors::testing {
namespace {

using namespace std::chrono_literals;

class PersonActor : public actor_fixture {
 protected:
  PersonActor() {
    writer_ = spawn_writer();
    tenant_config cfg;
    cfg.tenant = "t1";
    cfg.people = {available_person("alice")};
    cfg.mode = start_mode::resumed;
    sup_ = start_tenant(std::move(cfg), writer_);
  }

  caf::actor writer_;
  caf::actor sup_;
};

TEST_F(PersonActor, ChangeHeldForMinHoldWritesOnceAtFifteenSeconds) {
  send(sup_, connect_change{"alice", "OnContact", 0});

  advance_to(14999ms);
  auto before = writes(writer_);
  advance_to(60s);
  auto after = writes(writer_);

  EXPECT_TRUE(before.empty());
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].at, at(15s));
  EXPECT_EQ(after[0].to, side::teams);
  EXPECT_EQ(after[0].person, "alice");
  EXPECT_EQ(after[0].value, "Busy/InACall");
  EXPECT_EQ(view(sup_, "alice")->connect_state, "OnContact");
}

TEST_F(PersonActor, ChangeRevertedAtTenSecondsWritesNothing) {
  send(sup_, connect_change{"alice", "OnContact", 0});
  advance_to(10s);
  send(sup_, connect_change{"alice", "Available", 10000});

  advance_to(120s);

  EXPECT_TRUE(writes(writer_).empty());
  auto v = view(sup_, "alice");
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->connect_state, "Available");
  EXPECT_FALSE(v->c2t_hold.has_value());
}

TEST_F(PersonActor, HoldRestartedByALaterChangeWritesAtItsOwnDue) {
  send(sup_, connect_change{"alice", "Lunch", 0});
  advance_to(10s);
  send(sup_, connect_change{"alice", "OnContact", 10000});

  advance_to(24999ms);
  auto before = writes(writer_);
  advance_to(60s);
  auto after = writes(writer_);

  EXPECT_TRUE(before.empty());
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].at, at(25s));
  EXPECT_EQ(after[0].value, "Busy/InACall");
}

TEST_F(PersonActor, ChangesWithinAHoldKeepOneTimerInTheClock) {
  send(sup_, connect_change{"alice", "OnContact", 0});
  run();
  auto timers = scheduled_timers();

  for (int64_t ms : {1000, 2000, 3000, 4000}) {
    advance_to(duration{ms});
    send(sup_,
         connect_change{"alice", ms % 2000 == 0 ? "Lunch" : "OnContact", ms});
  }
  run();

  EXPECT_EQ(scheduled_timers(), timers);
}

TEST_F(PersonActor, ViewAndJournalAnswerThroughTheSupervisor) {
  send(sup_, connect_change{"alice", "OnContact", 0});
  advance_to(15s);

  auto journal = ask<journal_entries>(
    sup_, caf::get_atom::value, journal_atom::value, std::string{"alice"});

  ASSERT_TRUE(journal.has_value());
  auto has = [&](decision d, mono_time t) {
    return std::any_of(
      journal->entries.begin(), journal->entries.end(),
      [&](const journal_entry& e) { return e.what == d && e.at == t; });
  };
  EXPECT_TRUE(has(decision::held, at(0s)));
  EXPECT_TRUE(has(decision::propagated, at(15s)));
  EXPECT_FALSE(has(decision::propagated, at(0s)));
}

TEST_F(PersonActor, UnknownPersonIsDroppedAndCounted) {
  send(sup_, connect_change{"nobody", "OnContact", 0});

  auto c = counters(sup_);

  EXPECT_EQ(c.dropped_for("unknown_person"), 1u);
  EXPECT_EQ(c.restarts, 0u);
}

TEST(PersonActorExit, CrashReasonCarriesTheSequenceNumber) {
  auto crash =
    caf::make_error(caf::sec::runtime_error, uint64_t{7}, std::string{"boom"});
  caf::error kill = caf::exit_reason::kill;

  EXPECT_EQ(crashed_on(crash), std::optional<uint64_t>{7});
  EXPECT_EQ(crashed_on(kill), std::nullopt);
  EXPECT_EQ(crashed_on(caf::error{}), std::nullopt);
}

} // namespace
} // namespace presync::actors::testing
