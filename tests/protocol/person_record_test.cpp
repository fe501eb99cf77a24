#include "protocol/person_record.hpp"

#include <gtest/gtest.h>

#include <algorithm>

using namespace std::chrono_literals;

namespace presync {
namespace {

/// Two processes on simulated time: the first runs from wall clock
/// 1,000,000 ms, the second starts later with its monotonic clock at zero
/// again.
class PersonRecord : public ::testing::Test {
 protected:
  PersonRecord() : settings_(std::make_shared<sync_settings>()) {}

  static person_init init(std::string id = "p1") {
    person_init i;
    i.id = std::move(id);
    i.connect_state = "Available";
    i.teams_presence = {"Available", "Available"};
    return i;
  }

  /// A person of the first process, started as a resumed engine.
  person make() {
    person p{init(), settings_};
    person_effects fx;
    p.start(start_mode::resumed, at(0s), fx);
    return p;
  }

  /// The first process's clocks at `t`.
  static record_clock first(duration t) {
    return {at(t), 1'000'000 + t.count()};
  }

  /// The second process's clocks, `t` after its start at wall 2,000,000.
  static record_clock second(duration t = 0s) {
    return {at(t), 2'000'000 + t.count()};
  }

  expected<person> resume(const std::string& record,
                          const resume_facts& facts = {},
                          record_clock c = second()) {
    return resume_person(record, init(), settings_, facts, c);
  }

  /// Fires the timers of `p` due at `t`, as the person actor does when it
  /// resumes a machine, and returns what they asked for.
  static person_effects fire_due(person& p, mono_time t) {
    person_effects out;
    for (const auto& timer : p.pending_timers()) {
      if (timer.due <= t) {
        p.on_timer(timer.kind, timer.generation, t, out);
      }
    }
    return out;
  }

  static std::vector<std::string> writes(const person_effects& fx) {
    std::vector<std::string> out;
    for (const auto& w : fx.writes) {
      if (w.kind == write_kind::write) {
        out.push_back(std::string{to_string(w.to)} + " " + w.describe());
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

// -- the codec ----------------------------------------------------------------

TEST_F(PersonRecord, RoundTripKeepsEveryStoredField) {
  auto p = make();
  person_effects fx;
  p.on_connect("OnContact", 5'000, at(1s), fx);          // a hold until 16 s
  p.on_teams({"Busy", "InAMeeting"}, 6'000, at(2s), fx); // held too
  auto record = encode_person_record(p, first(3s));

  // Read back at the same instant, it encodes to the same text.
  auto back = resume_person(record, init(), settings_, {}, first(3s));

  ASSERT_TRUE(back) << back.err().describe();
  EXPECT_EQ(encode_person_record(*back, first(3s)), record);
  auto v = back->view();
  EXPECT_EQ(v.connect_state, "OnContact");
  EXPECT_EQ(v.teams_observed->key(), "Busy/InAMeeting");
  EXPECT_EQ(v.c2t_hold->describe(), "Busy/InACall");
  EXPECT_EQ(v.c2t_hold_due, at(16s));
}

TEST_F(PersonRecord, ValuesWithSeparatorsAndLineBreaksSurvive) {
  person_init odd = init("p|1%\nx");
  odd.connect_state = "Lunch|Late\n%";
  person p{odd, settings_};
  auto record = encode_person_record(p, first(0s));

  auto back = resume_person(record, odd, settings_, {}, first(0s));

  ASSERT_TRUE(back) << back.err().describe();
  EXPECT_EQ(back->view().connect_state, "Lunch|Late\n%");
  EXPECT_EQ(std::count(record.begin(), record.end(), '\n'),
            std::count_if(record.begin(), record.end(),
                          [](char c) { return c == '='; }) +
              1); // one field a line, after the header
}

TEST_F(PersonRecord, ANewerFormatIsAClearError) {
  auto record = encode_person_record(make(), first(0s));
  record.replace(0, record.find('\n'), "presync.person 99");

  auto back = resume(record);

  ASSERT_FALSE(back);
  EXPECT_EQ(back.err().code, sync_error::malformed);
  EXPECT_EQ(back.err().context,
            "stored record of person p1: record version 99 is newer than "
            "this presync's (1)");
}

TEST_F(PersonRecord, DamagedRecordsAreErrorsNamingTheField) {
  auto good = encode_person_record(make(), first(0s));
  auto with = [&](std::string from, std::string to) {
    auto r = good;
    r.replace(r.find(from), from.size(), to);
    return r;
  };
  struct bad_case {
    std::string record;
    std::string error;
  };
  std::vector<bad_case> cases{
    {"", "not a presync person record"},
    {std::string(64, '\xA5'), "not a presync person record"},
    {"presync.person x\n", "unreadable record version"},
    {good + "mystery=1\n", "unknown field 'mystery'"},
    {good + "chain=1\nchain=2\n", "field chain appears twice"},
    {good + "chain=lots\n", "field chain is damaged"},
    {good + "session_posted_ms=%zz\n", "field session_posted_ms is damaged"},
    {with("sides=1|1", "sides=1|0"), "the person's accounts changed since"},
    {with("id=p1", "id=p2"), "the record is another person's"},
    {with("id=p1\n", ""), "field id or sides is missing"},
  };

  for (const auto& c : cases) {
    auto back = resume(c.record);

    ASSERT_FALSE(back) << c.record;
    EXPECT_EQ(back.err().context, "stored record of person p1: " + c.error);
  }
}

// -- resuming -----------------------------------------------------------------

TEST_F(PersonRecord, EventAppliedBeforeTheCrashIsDroppedWhenReplayed) {
  auto p = make();
  person_effects fx;
  p.on_connect("Lunch", 5'000, at(1s), fx);
  auto record = encode_person_record(p, first(2s));
  auto back = resume(record);
  ASSERT_TRUE(back);

  // The stream replays the events since the checkpoint.
  person_effects replay;
  back->on_connect("Available", 4'000, at(1s), replay);
  back->on_connect("Lunch", 5'000, at(1s), replay);

  EXPECT_EQ(back->view().connect_state, "Lunch");
  EXPECT_EQ(count(*back, decision::ignored), 1u); // the older one
  EXPECT_TRUE(replay.writes.empty());
}

TEST_F(PersonRecord, AHoldKeepsItsDueAcrossTheRestart) {
  auto p = make();
  person_effects fx;
  p.on_connect("OnContact", 5'000, at(1s), fx); // due at 16 s
  auto record = encode_person_record(p, first(10s));

  // The second process starts 2 s of wall time after the record.
  auto back = resume(record, {}, {at(0s), 1'000'000 + 12'000});
  ASSERT_TRUE(back);
  auto early = fire_due(*back, at(3s));
  auto due = fire_due(*back, at(4s));

  EXPECT_TRUE(writes(early).empty());
  EXPECT_EQ(writes(due), std::vector<std::string>{"teams Busy/InACall"});
}

TEST_F(PersonRecord, SessionAlreadyRightIsNotWrittenAgainOnResume) {
  auto p = make(); // the session shows Available/Available
  auto record = encode_person_record(p, first(1s));
  resume_facts facts;
  facts.teams = last_written{"Available/Available", 999'000};

  auto back = resume(record, facts);
  ASSERT_TRUE(back);
  auto fx = fire_due(*back, at(0s));

  EXPECT_TRUE(writes(fx).empty());
  EXPECT_EQ(back->view().session->describe(), "Available/Available");
}

TEST_F(PersonRecord, TeamsWriteTheStoreConfirmedIsTakenAsDone) {
  auto p = make();
  person_effects fx;
  p.on_connect("OnContact", 5'000, at(0s), fx);
  fx = {};
  p.on_timer(timer_kind::c2t_hold, p.pending_timers()[0].generation, at(15s),
             fx); // asks for Busy/InACall
  ASSERT_EQ(writes(fx), std::vector<std::string>{"teams Busy/InACall"});
  auto record = encode_person_record(p, first(15s));
  resume_facts facts;
  facts.teams = last_written{"Busy/InACall", 1'015'100};

  auto back = resume(record, facts);
  ASSERT_TRUE(back);
  auto again = fire_due(*back, at(0s));

  EXPECT_TRUE(writes(again).empty());
  EXPECT_EQ(back->view().session->describe(), "Busy/InACall");
  EXPECT_FALSE(back->view().teams_pending.has_value());
}

TEST_F(PersonRecord, TeamsWriteThatDidNotHappenIsMadeAtOnce) {
  auto p = make();
  person_effects fx;
  p.on_connect("OnContact", 5'000, at(0s), fx);
  p.on_timer(timer_kind::c2t_hold, p.pending_timers()[0].generation, at(15s),
             fx);
  auto record = encode_person_record(p, first(15s));
  resume_facts facts;
  facts.teams = last_written{"Available/Available", 999'000};

  auto back = resume(record, facts);
  ASSERT_TRUE(back);
  auto again = fire_due(*back, at(0s));

  EXPECT_EQ(writes(again), std::vector<std::string>{"teams Busy/InACall"});
}

TEST_F(PersonRecord, TeamsWriteTheStoreMissedIsInDoubtWhateverTeamsShows) {
  auto p = make();
  person_effects fx;
  p.on_connect("OnContact", 5'000, at(0s), fx);
  p.on_timer(timer_kind::c2t_hold, p.pending_timers()[0].generation, at(15s),
             fx);
  auto record = encode_person_record(p, first(15s));
  resume_facts facts;
  facts.teams = last_written{"Available/Available", 999'000};
  // Whatever Teams shows (presync's write or the user's own call) proves
  // nothing, so no read of it is a fact here.

  auto back = resume(record, facts);
  ASSERT_TRUE(back);
  auto again = fire_due(*back, at(0s));

  EXPECT_TRUE(back->session_in_doubt());
  EXPECT_EQ(count(*back, decision::held), 1u); // says why it writes again
  EXPECT_EQ(writes(again), std::vector<std::string>{"teams Busy/InACall"});
}

/// A person whose Busy/InACall write was withdrawn (the call ended at 16 s)
/// with its answer still to come; returns the write.
write_request withdrawn_in_flight(person& p) {
  person_effects fx;
  p.on_connect("OnContact", 5'000, at(0s), fx);
  fx = {};
  p.on_timer(timer_kind::c2t_hold, p.pending_timers()[0].generation, at(15s),
             fx);
  EXPECT_EQ(fx.writes.size(), 1u);
  person_effects back;
  p.on_connect("Available", 16'000, at(16s), back);
  EXPECT_FALSE(p.view().teams_pending.has_value());
  return fx.writes.empty() ? write_request{} : fx.writes[0];
}

TEST_F(PersonRecord, TeamsWriteWithdrawnInFlightLeavesTheSessionInDoubt) {
  auto p = make();
  withdrawn_in_flight(p);
  auto record = encode_person_record(p, first(16s));
  resume_facts facts; // the store has only the write before
  facts.teams = last_written{"Available/Available", 999'000};

  auto back = resume(record, facts);
  ASSERT_TRUE(back);

  // It may have landed: the projection is written whatever the session
  // is believed to show.
  EXPECT_TRUE(back->session_in_doubt());
  EXPECT_EQ(count(*back, decision::held), 1u);
  EXPECT_EQ(writes(fire_due(*back, at(0s))),
            std::vector<std::string>{"teams Available/Available"});
}

TEST_F(PersonRecord, TeamsWriteWithdrawnInFlightThatTheStoreConfirmedIsUndone) {
  auto p = make();
  withdrawn_in_flight(p);
  auto record = encode_person_record(p, first(16s));
  resume_facts facts;
  facts.teams = last_written{"Busy/InACall", 1'016'200};

  auto back = resume(record, facts);
  ASSERT_TRUE(back);

  EXPECT_FALSE(back->session_in_doubt());
  EXPECT_EQ(writes(fire_due(*back, at(0s))),
            std::vector<std::string>{"teams Available/Available"});
}

TEST_F(PersonRecord, TeamsWriteWithdrawnBeforeItWasSentLeavesNoDoubt) {
  auto p = make();
  auto w = withdrawn_in_flight(p);
  person_effects fx;
  p.on_write_result(w, write_outcome::cancelled(), at(16s), fx);
  auto record = encode_person_record(p, first(16s));
  resume_facts facts;
  facts.teams = last_written{"Available/Available", 999'000};

  auto back = resume(record, facts);
  ASSERT_TRUE(back);

  EXPECT_FALSE(back->session_in_doubt());
  EXPECT_TRUE(writes(fire_due(*back, at(0s))).empty());
}

/// A person whose Teams meeting made presync ask Connect for Meeting.
class PersonRecordConnect : public PersonRecord {
 protected:
  person asked_for_meeting() {
    auto p = make();
    person_effects fx;
    p.on_connect("Available", 1'000, at(0s), fx);
    p.on_teams({"Busy", "InAMeeting"}, 2'000, at(1s), fx);
    fx = {};
    for (const auto& t : p.pending_timers()) {
      if (t.kind == timer_kind::t2c_hold) {
        p.on_timer(t.kind, t.generation, at(16s), fx);
      }
    }
    EXPECT_EQ(writes(fx), std::vector<std::string>{"connect Meeting"});
    return p;
  }
};

TEST_F(PersonRecordConnect, WriteConfirmedAfterTheLastEventIsNotMadeAgain) {
  auto record = encode_person_record(asked_for_meeting(), first(16s));
  resume_facts facts;
  facts.connect = last_written{"Meeting", 1'016'050};

  auto back = resume(record, facts);
  ASSERT_TRUE(back);
  auto again = fire_due(*back, at(0s));

  EXPECT_TRUE(writes(again).empty());
  EXPECT_EQ(back->view().agent_status, "Meeting");
  EXPECT_EQ(back->view().restore_to, "Available"); // the match survives
}

TEST_F(PersonRecordConnect, WriteTheAgentShowsIsNotMadeAgain) {
  auto record = encode_person_record(asked_for_meeting(), first(16s));
  resume_facts facts;
  facts.connect_state_now = "Meeting";

  auto back = resume(record, facts);
  ASSERT_TRUE(back);

  EXPECT_TRUE(writes(fire_due(*back, at(0s))).empty());
  EXPECT_EQ(back->view().restore_to, "Available");
}

TEST_F(PersonRecordConnect, WriteNotConfirmedIsMadeAgainThroughTheRule) {
  auto record = encode_person_record(asked_for_meeting(), first(16s));
  resume_facts facts;
  // An older write of the same status, before the last event applied.
  facts.connect = last_written{"Meeting", 500};
  facts.connect_state_now = "Available";

  auto back = resume(record, facts);
  ASSERT_TRUE(back);
  auto again = fire_due(*back, at(0s));

  EXPECT_EQ(writes(again), std::vector<std::string>{"connect Meeting"});
}

TEST_F(PersonRecordConnect, WriteNotConfirmedWaitsWhenTheAgentIsOnAContact) {
  auto p = asked_for_meeting();
  auto record = encode_person_record(p, first(16s));

  auto back = resume(record);
  ASSERT_TRUE(back);
  person_effects fx;
  back->on_connect("OnContact", 20'000, at(0s), fx); // replayed before due
  auto again = fire_due(*back, at(0s));

  EXPECT_TRUE(writes(again).empty());
  EXPECT_TRUE(back->view().deferred);
}

TEST_F(PersonRecordConnect, WithdrawnWriteThatLandedIsPutBack) {
  // The meeting ends before the answer: the write is withdrawn, and Available
  // is what the agent had then.
  auto p = asked_for_meeting();
  person_effects fx;
  p.on_teams({"Available", "Available"}, 3'000, at(16s), fx);
  ASSERT_FALSE(p.view().connect_pending.has_value());
  auto record = encode_person_record(p, first(16s));
  resume_facts facts;
  facts.connect_state_now = "Meeting"; // it landed all the same

  auto back = resume(record, facts);
  ASSERT_TRUE(back);
  auto again = fire_due(*back, at(0s));

  EXPECT_EQ(writes(again), std::vector<std::string>{"connect Available"});
}

TEST_F(PersonRecordConnect, WithdrawnWriteThatDidNotLandIsForgotten) {
  auto p = asked_for_meeting();
  person_effects fx;
  p.on_teams({"Available", "Available"}, 3'000, at(16s), fx);
  auto record = encode_person_record(p, first(16s));
  resume_facts facts;
  facts.connect_state_now = "Available";

  auto back = resume(record, facts);
  ASSERT_TRUE(back);

  EXPECT_TRUE(writes(fire_due(*back, at(0s))).empty());
}

TEST_F(PersonRecordConnect, WithdrawnRestoreThatLandedStartsTheNewIntent) {
  // Meeting landed; the meeting ends and the restore of Available is on its
  // way when a new meeting starts: the restore is withdrawn.
  auto p = asked_for_meeting();
  person_effects fx;
  write_request meeting;
  meeting.person = "p1";
  meeting.to = side::connect;
  meeting.status = "Meeting";
  p.on_write_result(meeting, write_outcome::ok(), at(16s), fx);
  p.on_connect("Meeting", 17'000, at(17s), fx);
  p.on_teams({"Available", "Available"}, 20'000, at(20s), fx);
  auto restore = fire_due(p, at(35s));
  auto sent = writes(restore);
  ASSERT_NE(std::find(sent.begin(), sent.end(), "connect Available"),
            sent.end());
  p.on_teams({"Busy", "InAMeeting"}, 36'000, at(36s), fx);
  ASSERT_FALSE(p.view().connect_pending.has_value());
  auto record = encode_person_record(p, first(36s));
  resume_facts facts;
  facts.connect_state_now = "Available"; // the restore landed all the same

  auto back = resume(record, facts);
  ASSERT_TRUE(back);

  // The old match is over; the meeting going on is a new intent, held
  // like any other and then written with a match of its own.
  auto now = writes(fire_due(*back, at(0s)));
  EXPECT_EQ(std::count(now.begin(), now.end(), "connect Meeting"), 0);
  EXPECT_FALSE(back->view().restore_to.has_value());
  person_effects event; // the restore's own event, replayed or reconciled
  back->on_connect("Available", 36'500, at(1s), event);
  auto again = fire_due(*back, at(15s));
  EXPECT_EQ(writes(again), std::vector<std::string>{"connect Meeting"});
}

TEST_F(PersonRecord, LoopPauseSurvivesTheRestart) {
  // A record written while the loop guard paused the person until wall
  // clock 1,900,000 ms, after a chain of 3.
  auto record = encode_person_record(make(), first(0s)) +
                "chain=3\npaused_until_ms=1900000\n";

  auto back = resume(record, {}, {at(0s), 1'000'000});
  ASSERT_TRUE(back) << back.err().describe();
  person_effects fx;
  back->on_connect("OnContact", 5'000, at(1s), fx);
  auto timers = back->pending_timers();

  EXPECT_EQ(back->view().chain, 3);
  EXPECT_EQ(back->view().paused_until, at(900s));
  EXPECT_EQ(count(*back, decision::loop_paused), 1u);
  EXPECT_TRUE(std::any_of(timers.begin(), timers.end(), [](const auto& t) {
    return t.kind == timer_kind::pause_end && t.due == at(900s);
  }));
}

} // namespace
} // namespace presync
