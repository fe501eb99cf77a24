#include "protocol/person.hpp"

#include <gtest/gtest.h>

#include <algorithm>

using namespace std::chrono_literals;

namespace presync {
namespace {

/// Builds one person with both sides and offers tiny drivers.
class PersonTest : public ::testing::Test {
 protected:
  PersonTest() : settings_(std::make_shared<sync_settings>()) {}

  person make(std::string connect = "Available",
              presence teams = {"Available", "Available"}) {
    person_init init;
    init.id = "p1";
    init.connect_state = std::move(connect);
    init.teams_presence = std::move(teams);
    person p{std::move(init), settings_};
    person_effects fx;
    p.start(start_mode::resumed, at(0s), fx);
    return p;
  }

  /// Fires every timer in `fx` that falls due at or before `t`.
  static person_effects fire(person& p, const person_effects& fx, mono_time t) {
    person_effects out;
    for (const auto& timer : fx.timers) {
      if (timer.due <= t) {
        p.on_timer(timer.kind, timer.generation, timer.due, out);
      }
    }
    return out;
  }

  static size_t count(const person& p, decision d) {
    const auto& e = p.decisions().entries();
    return static_cast<size_t>(std::count_if(
      e.begin(), e.end(), [d](const journal_entry& j) { return j.what == d; }));
  }

  std::shared_ptr<sync_settings> settings_;
};

TEST_F(PersonTest, ConnectChangeHeldForMinHoldAsksForOneWrite) {
  auto p = make();
  person_effects fx;

  p.on_connect("OnContact", 0, at(0s), fx);
  auto due = fire(p, fx, at(15s));

  ASSERT_EQ(due.writes.size(), 1u);
  EXPECT_EQ(due.writes[0].to, side::teams);
  EXPECT_EQ(due.writes[0].teams.describe(), "Busy/InACall");
  EXPECT_EQ(due.writes[0].kind, write_kind::write);
}

TEST_F(PersonTest, RevertWithinHoldPropagatesNothing) {
  auto p = make();
  person_effects fx;

  p.on_connect("Lunch", 0, at(0s), fx);
  person_effects back;
  p.on_connect("Available", 10'000, at(10s), back);
  auto due = fire(p, fx, at(15s));

  EXPECT_TRUE(due.writes.empty());
  EXPECT_EQ(count(p, decision::superseded), 1u);
}

TEST_F(PersonTest, OlderConnectEventIsIgnored) {
  auto p = make();
  person_effects fx;

  p.on_connect("Lunch", 5'000, at(5s), fx);
  person_effects late;
  p.on_connect("Break", 4'000, at(6s), late);

  EXPECT_EQ(p.view().connect_state, "Lunch");
  ASSERT_EQ(late.decisions.size(), 1u);
  EXPECT_EQ(late.decisions[0].what, decision::ignored);
}

TEST_F(PersonTest, OlderTeamsObservationIsIgnored) {
  auto p = make();
  person_effects fx;

  p.on_teams({"Busy", "InAMeeting"}, 5'000, at(5s), fx);
  person_effects late;
  p.on_teams({"Away", "Away"}, 1'000, at(6s), late);

  EXPECT_EQ(p.view().teams_observed->key(), "Busy/InAMeeting");
  ASSERT_EQ(late.decisions.size(), 1u);
  EXPECT_EQ(late.decisions[0].what, decision::ignored);
}

TEST_F(PersonTest, RepeatedValueIsNotAChange) {
  auto p = make();
  person_effects fx;

  p.on_connect("Available", 1'000, at(1s), fx);
  p.on_teams({"available", "AVAILABLE"}, 1'000, at(1s), fx);

  EXPECT_TRUE(fx.decisions.empty());
  EXPECT_TRUE(fx.timers.empty());
}

TEST_F(PersonTest, StaleTimerGenerationDoesNothing) {
  auto p = make();
  person_effects first;
  p.on_connect("Lunch", 0, at(0s), first);
  person_effects second;
  p.on_connect("OnContact", 5'000, at(5s), second);

  auto stale = fire(p, first, at(15s));
  auto live = fire(p, second, at(20s));

  EXPECT_TRUE(stale.writes.empty());
  ASSERT_EQ(live.writes.size(), 1u);
  EXPECT_EQ(live.writes[0].teams.describe(), "Busy/InACall");
}

TEST_F(PersonTest, CopyIsACompleteSnapshot) {
  auto p = make();
  person_effects fx;
  p.on_connect("Lunch", 0, at(0s), fx);

  auto copy = p;
  auto timers = copy.pending_timers();
  auto hold = std::find_if(timers.begin(), timers.end(), [](const auto& t) {
    return t.kind == timer_kind::c2t_hold;
  });
  ASSERT_NE(hold, timers.end());
  EXPECT_EQ(hold->due, at(15s));
  person_effects out;
  copy.on_timer(hold->kind, hold->generation, hold->due, out);

  ASSERT_EQ(out.writes.size(), 1u);
  EXPECT_EQ(out.writes[0].teams.describe(), "Away/Away");
}

TEST_F(PersonTest, WriteWithdrawnInFlightIsCorrectedAfterItLands) {
  auto p = make();
  person_effects fx;
  p.on_connect("Lunch", 0, at(0s), fx);
  auto due = fire(p, fx, at(15s));
  ASSERT_EQ(due.writes.size(), 1u);

  // The agent is back before the write's answer arrives: the person
  // withdraws it, but the attempt is already on its way and lands.
  person_effects back;
  p.on_connect("Available", 16'000, at(16s), back);
  ASSERT_EQ(back.writes.size(), 1u);
  EXPECT_EQ(back.writes[0].kind, write_kind::cancel);
  person_effects landed;
  p.on_write_result(due.writes[0], write_outcome::ok(), at(17s), landed);

  ASSERT_EQ(landed.writes.size(), 1u);
  EXPECT_EQ(landed.writes[0].teams.describe(), "Available/Available");
}

TEST_F(PersonTest, DeferredConnectWriteDoesNotChangeTheAgentStatus) {
  auto p = make();
  person_effects fx;
  p.on_teams({"Busy", "InAMeeting"}, 0, at(0s), fx);
  auto due = fire(p, fx, at(15s));
  ASSERT_EQ(due.writes.size(), 1u);
  ASSERT_EQ(due.writes[0].to, side::connect);

  write_outcome next;
  next.result = write_outcome::kind::deferred;
  person_effects out;
  p.on_write_result(due.writes[0], next, at(15s), out);

  EXPECT_EQ(p.view().agent_status, "Available");
  ASSERT_FALSE(out.decisions.empty());
  EXPECT_EQ(out.decisions.back().detail, "Connect next status set to Meeting");
}

/// A Meeting write decided at 15 s; returns it.
write_request meeting_write(person& p, person_effects& fx) {
  p.on_teams({"Busy", "InAMeeting"}, 0, at(0s), fx);
  person_effects due;
  for (const auto& timer : fx.timers) {
    p.on_timer(timer.kind, timer.generation, timer.due, due);
  }
  EXPECT_EQ(due.writes.size(), 1u);
  return due.writes.empty() ? write_request{} : due.writes[0];
}

TEST_F(PersonTest, RuleConditionSeesPresyncsOwnWriteBeforeItsEventArrives) {
  auto p = make();
  person_effects fx;
  auto meeting = meeting_write(p, fx);
  person_effects out;
  p.on_write_result(meeting, write_outcome::ok(), at(15s), out);
  p.on_connect("Meeting", 15'500, at(16s), out);

  // The meeting ends; the restore of Available lands, but its event is
  // late (Kinesis lags) when the next meeting's hold ends.
  out = {};
  p.on_teams({"Available", "Available"}, 20'000, at(20s), out);
  auto restore = fire(p, out, at(35s));
  ASSERT_EQ(restore.writes.size(), 1u);
  ASSERT_EQ(restore.writes[0].status, "Available");
  p.on_write_result(restore.writes[0], write_outcome::ok(), at(35s), out);
  out = {};
  p.on_teams({"Busy", "InAMeeting"}, 36'000, at(36s), out);
  auto due = fire(p, out, at(51s));

  // The rule applies only when Connect shows Available: it does, by
  // presync's own confirmed write.
  ASSERT_EQ(due.writes.size(), 1u);
  EXPECT_EQ(due.writes[0].status, "Meeting");
}

TEST_F(PersonTest, MeetingEndingWithdrawsTheQueuedConnectWrite) {
  auto p = make();
  person_effects fx;
  auto meeting = meeting_write(p, fx);
  ASSERT_EQ(meeting.status, "Meeting");

  person_effects ended;
  p.on_teams({"Available", "Available"}, 40'000, at(40s), ended);

  ASSERT_EQ(ended.writes.size(), 1u);
  EXPECT_EQ(ended.writes[0].kind, write_kind::cancel);
  EXPECT_EQ(ended.writes[0].to, side::connect);
  EXPECT_FALSE(p.view().connect_pending);

  // The queue confirms; nothing is put back, the agent keeps Available.
  person_effects gone;
  p.on_write_result(meeting, write_outcome::cancelled(), at(40s), gone);
  EXPECT_TRUE(gone.writes.empty());
  EXPECT_EQ(p.view().agent_status, "Available");
}

TEST_F(PersonTest, WithdrawnConnectWriteThatLandsIsPutBack) {
  auto p = make();
  person_effects fx;
  auto meeting = meeting_write(p, fx);

  person_effects ended;
  p.on_teams({"Available", "Available"}, 40'000, at(40s), ended);
  ASSERT_EQ(ended.writes.size(), 1u);

  // The attempt was already on its way: it lands, and the status the
  // agent had when it was withdrawn goes back at once.
  person_effects landed;
  p.on_write_result(meeting, write_outcome::ok(), at(41s), landed);

  ASSERT_EQ(landed.writes.size(), 1u);
  EXPECT_EQ(landed.writes[0].to, side::connect);
  EXPECT_EQ(landed.writes[0].status, "Available");
  EXPECT_EQ(p.view().connect_pending, "Available");
}

TEST_F(PersonTest, WithdrawalAfterTheWritesOwnEventPutsBackWhatItReplaced) {
  auto p = make();
  person_effects fx;
  auto meeting = meeting_write(p, fx);

  // The status change reaches the event stream before the answer does,
  // then the meeting ends while the answer is still on its way.
  person_effects own;
  p.on_connect("Meeting", 16'000, at(16s), own);
  person_effects ended;
  p.on_teams({"Available", "Available"}, 40'000, at(40s), ended);
  person_effects landed;
  p.on_write_result(meeting, write_outcome::ok(), at(41s), landed);

  ASSERT_EQ(landed.writes.size(), 1u);
  EXPECT_EQ(landed.writes[0].status, "Available");
}

TEST_F(PersonTest, AWithdrawnWriteThatLandsPutsBackTheAgentsChoice) {
  auto p = make();
  person_effects fx;
  auto meeting = meeting_write(p, fx);

  person_effects chose;
  p.on_connect("Lunch", 20'000, at(20s), chose);
  person_effects landed;
  p.on_write_result(meeting, write_outcome::ok(), at(21s), landed);

  ASSERT_EQ(landed.writes.size(), 1u);
  EXPECT_EQ(landed.writes[0].status, "Lunch");
}

TEST_F(PersonTest, AWithdrawnRestoreThatLandsLeavesTheNextMeetingRestorable) {
  auto p = make();
  person_effects fx;
  auto meeting = meeting_write(p, fx);
  person_effects done;
  p.on_write_result(meeting, write_outcome::ok(), at(15s), done);
  p.on_connect("Meeting", 16'000, at(16s), done);

  // The meeting ends; the restore goes out and, while it is on its way,
  // Teams asks for Meeting again (DoNotDisturb).
  person_effects ended;
  p.on_teams({"Available", "Available"}, 40'000, at(40s), ended);
  auto exit = fire(p, ended, at(55s));
  ASSERT_EQ(exit.writes.size(), 1u);
  auto restore = exit.writes[0];
  ASSERT_EQ(restore.status, "Available");
  person_effects dnd;
  p.on_teams({"DoNotDisturb", "DoNotDisturb"}, 56'000, at(56s), dnd);

  // The restore lands anyway, with its event; Meeting is held again as a
  // new intent and written.
  person_effects landed;
  p.on_write_result(restore, write_outcome::ok(), at(57s), landed);
  p.on_connect("Available", 57'000, at(57s), landed);
  auto again = fire(p, landed, at(72s));
  ASSERT_EQ(again.writes.size(), 1u);
  EXPECT_EQ(again.writes[0].status, "Meeting");
  person_effects set;
  p.on_write_result(again.writes[0], write_outcome::ok(), at(72s), set);
  p.on_connect("Meeting", 73'000, at(73s), set);

  // When Teams is free again, the agent goes back to Available.
  person_effects free;
  p.on_teams({"Available", "Available"}, 200'000, at(200s), free);
  auto back = fire(p, free, at(215s));
  ASSERT_EQ(back.writes.size(), 1u);
  EXPECT_EQ(back.writes[0].status, "Available");
}

TEST_F(PersonTest, AMeetingThatComesBackAfterAWithdrawalIsHeldAgain) {
  auto p = make();
  person_effects fx;
  auto meeting = meeting_write(p, fx);
  person_effects ended;
  p.on_teams({"Available", "Available"}, 40'000, at(40s), ended);

  person_effects again;
  p.on_teams({"Busy", "InAMeeting"}, 45'000, at(45s), again);
  auto due = fire(p, again, at(60s));

  ASSERT_EQ(due.writes.size(), 1u);
  EXPECT_EQ(due.writes[0].status, "Meeting");
  EXPECT_EQ(due.writes[0].kind, write_kind::write);
}

TEST_F(PersonTest, SameStatusUnderAnotherTeamsKeyKeepsTheQueuedWrite) {
  auto p = make();
  person_effects fx;
  meeting_write(p, fx);

  // Another key that maps to the same status is the same intent.
  person_effects call;
  p.on_teams({"Busy", "InAConferenceCall"}, 20'000, at(20s), call);

  EXPECT_TRUE(std::none_of(
    call.writes.begin(), call.writes.end(),
    [](const write_request& w) { return w.kind == write_kind::cancel; }));
  EXPECT_EQ(p.view().connect_pending, "Meeting");
}

TEST_F(PersonTest, TeamsOnlyPersonNeverWrites) {
  person_init init;
  init.id = "office";
  init.has_connect = false;
  person p{init, settings_};
  person_effects fx;

  p.start(start_mode::fresh, at(0s), fx);
  p.on_teams({"Busy", "InAMeeting"}, 0, at(0s), fx);

  EXPECT_TRUE(fx.writes.empty());
  EXPECT_TRUE(fx.timers.empty());
  EXPECT_EQ(p.view().teams_observed->key(), "Busy/InAMeeting");
}

TEST_F(PersonTest, JournalKeepsTheNewestEntries) {
  settings_->journal_size = 3;
  auto p = make();
  person_effects fx;

  for (int i = 1; i <= 5; ++i) {
    p.on_connect(i % 2 ? "Lunch" : "Available", i, at(duration{i}), fx);
  }

  ASSERT_EQ(p.decisions().entries().size(), 3u);
  EXPECT_EQ(p.decisions().entries().back().at, at(duration{5}));
  // held, then superseded + unchanged for each return, then held again.
  EXPECT_EQ(fx.decisions.size(), 7u);
}

TEST_F(PersonTest, ViewShowsSessionAndHold) {
  auto p = make();
  person_effects fx;

  p.on_connect("OnContact", 0, at(0s), fx);
  auto v = p.view();

  ASSERT_TRUE(v.session);
  EXPECT_EQ(v.session->describe(), "Available/Available");
  ASSERT_TRUE(v.c2t_hold);
  EXPECT_EQ(v.c2t_hold->describe(), "Busy/InACall");
  EXPECT_EQ(v.c2t_hold_due, at(15s));
}

TEST_F(PersonTest, ResumedAvailableSessionIsRefreshedBeforeItFades) {
  auto p = make();

  auto timers = p.pending_timers();

  ASSERT_EQ(timers.size(), 1u);
  EXPECT_EQ(timers[0].kind, timer_kind::refresh);
  EXPECT_EQ(timers[0].due, at(4min));
}

} // namespace
} // namespace presync

namespace presync {
namespace {

TEST_F(PersonTest, AWriteDuringAContactIsMarkedAndItsDeferralJournaled) {
  auto rule = teams_rule::set("Meeting");
  rule.never_during_contact = false;
  settings_->teams_to_connect.entries = {{"Busy/InAMeeting", rule}};
  auto p = make("OnContact", {"Busy", "InACall"});
  person_effects fx;

  p.on_teams({"Busy", "InAMeeting"}, 1'000, at(1s), fx);
  auto due = fire(p, fx, at(16s));
  ASSERT_EQ(due.writes.size(), 1u);
  EXPECT_EQ(due.writes[0].to, side::connect);
  EXPECT_EQ(due.writes[0].status, "Meeting");
  EXPECT_TRUE(due.writes[0].during_contact);

  write_outcome deferred;
  deferred.result = write_outcome::kind::deferred;
  person_effects done;
  p.on_write_result(due.writes[0], deferred, at(16s), done);

  const auto& last = p.decisions().entries().back();
  EXPECT_EQ(last.what, decision::propagated);
  EXPECT_EQ(last.detail, "Connect next status set to Meeting");
  EXPECT_NE(p.view().agent_status, "Meeting"); // only queued in Connect
}

TEST_F(PersonTest, AWriteOutsideAContactIsNotMarked) {
  settings_->teams_to_connect.entries = {
    {"Busy/InAMeeting", teams_rule::set("Meeting")}};
  auto p = make("Available");
  person_effects fx;

  p.on_teams({"Busy", "InAMeeting"}, 1'000, at(1s), fx);
  auto due = fire(p, fx, at(16s));

  ASSERT_EQ(due.writes.size(), 1u);
  EXPECT_FALSE(due.writes[0].during_contact);
}

} // namespace
} // namespace presync
