// The demo report on hand-built timelines with known answers.
#include "sim/demo_report.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace presync::sim {
namespace {

using namespace std::chrono_literals;

constexpr const char* session = "00000000-0000-0000-0000-0000000000b1";
constexpr std::int64_t t0 = 1'700'000'000'000; // any instant, in ms

std::int64_t at(double seconds) {
  return t0 + static_cast<std::int64_t>(seconds * 1000);
}

/// One agent (gina) and one office user (otto), default maps.
class DemoReport : public ::testing::Test {
 protected:
  DemoReport() {
    in.session_id = session;
    in.ready_ms = t0;
    in.start_ms = t0;
    in.end_ms = at(600);
    in.persons = {{"gina@example.com", "g-1", "c-1"},
                  {"otto@example.com", "g-2", ""}};
    final_state("Available");
    shows("g-1", presence{"Available", "Available"},
          presence{"Available", "Available"});
  }

  void change(double seconds, std::string state) {
    in.connect_changes.push_back({"c-1", at(seconds), std::move(state)});
  }

  void write(double seconds, std::string availability, std::string activity,
             std::string user = "g-1", int status = 200) {
    graph_write w;
    w.at_ms = at(seconds);
    w.operation = "setPresence";
    w.user_id = std::move(user);
    w.session_id = session;
    w.availability = std::move(availability);
    w.activity = std::move(activity);
    w.status = status;
    in.writes.push_back(std::move(w));
  }

  void clear(double seconds, std::string user = "g-1") {
    graph_write w;
    w.at_ms = at(seconds);
    w.operation = "clearPresence";
    w.user_id = std::move(user);
    w.session_id = session;
    w.status = 200;
    in.writes.push_back(std::move(w));
  }

  void teams(double seconds, std::string key, std::string user = "g-1") {
    in.teams_changes.push_back({std::move(user), at(seconds), std::move(key)});
  }

  void put(double seconds, std::string status, std::string applied) {
    in.status_puts.push_back(
      {at(seconds), "c-1", std::move(status), std::move(applied)});
  }

  void final_state(std::string state, std::string status = "") {
    in.agents = {{"c-1", state, status.empty() ? state : std::move(status)}};
  }

  void shows(std::string user, presence aggregate,
             std::optional<presence> mine) {
    in.presences.erase(
      std::remove_if(in.presences.begin(), in.presences.end(),
                     [&](const auto& p) { return p.graph_id == user; }),
      in.presences.end());
    in.presences.push_back({std::move(user), std::move(aggregate), mine, mine});
  }

  /// Login at 10 s, Available written 15 s later (after the hold).
  void logged_in_and_written() {
    change(10, "Offline");
    change(10, "Available");
    write(25.5, "Available", "Available");
  }

  report_input in;
};

TEST_F(DemoReport, QuietAgentIsConsistentAndClean) {
  logged_in_and_written();

  const auto r = make_report(in);

  EXPECT_TRUE(r.consistent);
  EXPECT_TRUE(r.passed());
  EXPECT_EQ(r.persons, 2);
  EXPECT_EQ(r.agents, 1);
  EXPECT_EQ(r.office_users, 1);
  EXPECT_EQ(r.expected_changes, 1);
  EXPECT_EQ(r.changes_not_written, 0);
  EXPECT_EQ(r.redundant_writes, 0);
  EXPECT_EQ(r.session_writes, 1);
}

TEST_F(DemoReport, ShortFlickHeldBackCountsAsSuppressed) {
  logged_in_and_written();
  change(60, "Break"); // maps to Away/Away through *
  change(65, "Available");

  const auto r = make_report(in);

  EXPECT_EQ(r.short_changes_suppressed, 1);
  EXPECT_EQ(r.short_connect_suppressed, 1);
  EXPECT_EQ(r.short_changes_propagated, 0);
  EXPECT_EQ(r.expected_changes, 1); // Available after Break is no change
  EXPECT_TRUE(r.passed());
}

TEST_F(DemoReport, ShortFlickWrittenFailsTheRun) {
  logged_in_and_written();
  change(60, "Break");
  change(65, "Available");
  write(66, "Away", "Away");
  write(67, "Available", "Available");

  const auto r = make_report(in);

  EXPECT_EQ(r.short_changes_propagated, 1);
  EXPECT_EQ(r.short_changes_suppressed, 0);
  ASSERT_EQ(r.short_propagated_examples.size(), 1u);
  EXPECT_NE(r.short_propagated_examples[0].why.find(
              "Connect run of 5000 ms: Away/Away run written at +6000 ms"),
            std::string::npos)
    << r.short_propagated_examples[0].why;
  EXPECT_FALSE(r.passed());
}

TEST_F(DemoReport, LateWriteForAnEarlierRunIsNotBlamedOnAShortOne) {
  logged_in_and_written();
  change(100, "Lunch"); // held: Away/Away
  change(120, "Available");
  change(165, "Break"); // 7 s: short
  change(172, "Available");
  write(170, "Away", "Away");           // Lunch's, 55 s late
  write(171, "Available", "Available"); // the Available from 120 s

  const auto r = make_report(in);

  EXPECT_EQ(r.short_changes_propagated, 0);
  EXPECT_EQ(r.short_changes_suppressed, 1);
  EXPECT_EQ(r.expected_changes, 3);
  EXPECT_EQ(r.max_delay_ms, 55000);
  EXPECT_EQ(r.changes_not_written, 0);
}

TEST_F(DemoReport, UnwrittenRunDoesNotTakeTheNextRunsWrite) {
  logged_in_and_written();
  change(100, "Lunch"); // 20 s, never written
  change(120, "Available");
  change(140, "Break"); // Away/Away again, written 15.2 s later
  write(155.2, "Away", "Away");
  final_state("Break");
  shows("g-1", presence{"Away", "Away"}, presence{"Away", "Away"});

  const auto r = make_report(in);

  // Available, Lunch's Away, Available again, Break's Away: the middle
  // two were never written, and Break's write stays Break's.
  EXPECT_EQ(r.expected_changes, 4);
  EXPECT_EQ(r.changes_not_written, 2);
  EXPECT_EQ(r.max_delay_ms, 500);
}

TEST_F(DemoReport, ContactStatesMergeIntoOneRun) {
  logged_in_and_written();
  change(60, "Incoming");          // Busy/InACall
  change(64, "OnContact");         // Busy/InACall: same run
  change(110, "AfterContactWork"); // Busy/InACall: same run
  change(125, "Available");
  write(75.2, "Busy", "InACall");
  write(140.4, "Available", "Available");

  const auto r = make_report(in);

  EXPECT_EQ(r.expected_changes, 3);
  EXPECT_EQ(r.short_changes_suppressed, 0);
  EXPECT_EQ(r.max_delay_ms, 500);
  EXPECT_EQ(r.min_delay_ms, 200);
  EXPECT_TRUE(r.passed());
}

TEST_F(DemoReport, RunNearTheHoldIsBorderline) {
  logged_in_and_written();
  change(60, "Break");
  change(74.5, "Available"); // 14.5 s: within 2 s of the 15 s hold

  const auto r = make_report(in);

  EXPECT_EQ(r.borderline_changes, 1);
  EXPECT_EQ(r.short_changes_suppressed, 0);
  EXPECT_EQ(r.short_changes_propagated, 0);
}

TEST_F(DemoReport, LateWriteDelayIsMeasured) {
  logged_in_and_written();
  change(100, "Lunch");
  write(100 + 15 + 3.25, "Away", "Away");
  final_state("Lunch");
  shows("g-1", presence{"Away", "Away"}, presence{"Away", "Away"});

  const auto r = make_report(in);

  EXPECT_EQ(r.expected_changes, 2);
  EXPECT_EQ(r.max_delay_ms, 3250);
  EXPECT_EQ(r.p99_delay_ms, 3250);
  EXPECT_EQ(r.p50_delay_ms, 500);
  EXPECT_TRUE(r.consistent);
}

TEST_F(DemoReport, WriteBeforeTheHoldEndsIsEarly) {
  logged_in_and_written();
  change(100, "Lunch");
  write(100.07, "Away", "Away"); // no hold at all
  final_state("Lunch");
  shows("g-1", presence{"Away", "Away"}, presence{"Away", "Away"});

  const auto r = make_report(in);

  EXPECT_EQ(r.early_writes, 1);
  EXPECT_EQ(r.min_delay_ms, -14930);
  ASSERT_EQ(r.early_write_examples.size(), 1u);
  EXPECT_EQ(r.early_write_examples[0].person, "gina@example.com");
  EXPECT_NE(
    r.early_write_examples[0].why.find("Away/Away run written at +70 ms"),
    std::string::npos)
    << r.early_write_examples[0].why;
  EXPECT_NE(r.early_write_examples[0].why.find("Lunch at +0 ms"),
            std::string::npos);
}

TEST_F(DemoReport, MissingWriteIsCountedAndInconsistent) {
  logged_in_and_written();
  change(100, "Lunch");
  final_state("Lunch");

  const auto r = make_report(in);

  EXPECT_EQ(r.changes_not_written, 1);
  ASSERT_EQ(r.inconsistent.size(), 1u);
  EXPECT_EQ(r.inconsistent[0].person, "gina@example.com");
  EXPECT_NE(r.inconsistent[0].why.find("Away/Away"), std::string::npos);
  EXPECT_FALSE(r.passed());
}

TEST_F(DemoReport, RepeatedValueIsARedundantWrite) {
  logged_in_and_written();
  write(40, "Available", "Available");

  const auto r = make_report(in);

  EXPECT_EQ(r.redundant_session_writes, 1);
  EXPECT_EQ(r.redundant_writes, 1);
  EXPECT_EQ(r.refreshes, 0);
  EXPECT_FALSE(r.passed());
}

TEST_F(DemoReport, RefreshAfterAvailableRefreshIsNotRedundant) {
  logged_in_and_written();
  write(25.5 + 240, "Available", "Available"); // 4 min later

  const auto r = make_report(in);

  EXPECT_EQ(r.redundant_writes, 0);
  EXPECT_EQ(r.refreshes, 1);
  EXPECT_EQ(r.session_writes, 2);
}

TEST_F(DemoReport, RetryAfterThrottleIsNotRedundant) {
  change(10, "Available");
  write(25, "Available", "Available", "g-1", 429);
  write(30, "Available", "Available");

  const auto r = make_report(in);

  EXPECT_EQ(r.redundant_writes, 0);
  EXPECT_EQ(r.session_writes, 2);
}

TEST_F(DemoReport, FirstWriteIsNeverRedundant) {
  // The fresh-start projection clears a session that never existed.
  clear(1);
  logged_in_and_written();

  const auto r = make_report(in);

  EXPECT_EQ(r.redundant_writes, 0);
}

TEST_F(DemoReport, StartUpProjectionIsNotAWritePerChange) {
  clear(-2); // before the workload started
  logged_in_and_written();

  const auto r = make_report(in);

  EXPECT_EQ(r.startup_writes, 1);
  EXPECT_EQ(r.session_writes, 1);
  EXPECT_DOUBLE_EQ(r.writes_per_change, 1.0);
}

TEST(DemoReportCounters, CountedSinceSubtractsTheBaseline) {
  request_counters base;
  base.graph_polls = 3;
  base.connect_put_user_status = 1;
  request_counters now = base;
  now.graph_polls = 10;
  now.connect_put_user_status = 4;

  const auto d = counted_since(now, base);

  EXPECT_EQ(d.graph_polls, 7);
  EXPECT_EQ(d.connect_put_user_status, 3);
  EXPECT_EQ(d.graph_batches, 0);
}

TEST_F(DemoReport, UnchangedStatusPutIsRedundant) {
  logged_in_and_written();
  put(80, "Meeting", "current");
  put(90, "Meeting", "unchanged");

  const auto r = make_report(in);

  EXPECT_EQ(r.redundant_status_puts, 1);
  EXPECT_EQ(r.redundant_writes, 1);
  EXPECT_EQ(r.status_puts, 2);
  EXPECT_EQ(r.status_puts_applied, 1);
  EXPECT_EQ(r.propagated_changes, 2);
}

TEST_F(DemoReport, StrandedMeetingIsFlagged) {
  logged_in_and_written();
  teams(60, "Busy/InAMeeting");
  put(80, "Meeting", "current");
  change(80, "Meeting");
  write(95.3, "Away", "Away");
  teams(200, "Available/Available");
  final_state("Meeting");
  shows("g-1", presence{"Available", "Available"}, presence{"Away", "Away"});

  const auto r = make_report(in);

  ASSERT_EQ(r.inconsistent.size(), 1u);
  EXPECT_EQ(r.inconsistent[0].why,
            "left in status Meeting while Teams shows Available/Available "
            "(presync set it 120.0 s before Teams last changed, to "
            "Available/Available)");
  EXPECT_FALSE(r.consistent);
}

TEST_F(DemoReport, MeetingWhileTeamsStillInAMeetingIsFine) {
  logged_in_and_written();
  teams(60, "Busy/InAMeeting");
  put(80, "Meeting", "current");
  change(80, "Meeting");
  write(95.3, "Away", "Away");
  final_state("Meeting");
  shows("g-1", presence{"Busy", "InAMeeting"}, presence{"Away", "Away"});

  const auto r = make_report(in);

  EXPECT_TRUE(r.consistent);
  EXPECT_EQ(r.propagated_changes, 3);
}

TEST_F(DemoReport, ShortTeamsChangeHeldBackIsSuppressed) {
  logged_in_and_written();
  teams(0, "Available/Available");
  teams(60, "DoNotDisturb/DoNotDisturb");
  teams(64, "Available/Available");
  teams(100, "Away/Away"); // maps to ignore: nothing to count
  teams(103, "Available/Available");

  const auto r = make_report(in);

  EXPECT_EQ(r.short_teams_suppressed, 1);
  EXPECT_EQ(r.short_changes_suppressed, 1);
  EXPECT_EQ(r.short_changes_propagated, 0);
}

TEST_F(DemoReport, QueuedPutOfAnEarlierMeetingIsNotBlamedOnAFlick) {
  logged_in_and_written();
  teams(0, "Available/Available");
  teams(60, "Busy/InAMeeting"); // held for a minute
  teams(120, "Available/Available");
  teams(200, "DoNotDisturb/DoNotDisturb"); // 5 s
  teams(205, "Available/Available");
  put(203, "Meeting", "current"); // the meeting's, queued for minutes

  const auto r = make_report(in);

  EXPECT_EQ(r.short_changes_propagated, 0);
  EXPECT_EQ(r.short_teams_suppressed, 1);
}

TEST_F(DemoReport, ShortTeamsChangeWrittenFailsTheRun) {
  logged_in_and_written();
  teams(60, "DoNotDisturb/DoNotDisturb");
  teams(64, "Available/Available");
  put(66, "Meeting", "current");

  const auto r = make_report(in);

  EXPECT_EQ(r.short_changes_propagated, 1);
  ASSERT_EQ(r.short_propagated_examples.size(), 1u);
  EXPECT_EQ(r.short_propagated_examples[0].why,
            "Teams DoNotDisturb/DoNotDisturb for 4000 ms; PutUserStatus "
            "Meeting at +6000 ms");
  EXPECT_FALSE(r.passed());
}

TEST_F(DemoReport, FadedSessionIsInconsistent) {
  logged_in_and_written();
  in.presences[0].session_effective = presence{"Available", "AvailableIdle"};

  const auto r = make_report(in);

  ASSERT_EQ(r.inconsistent.size(), 1u);
  EXPECT_NE(r.inconsistent[0].why.find("faded"), std::string::npos);
}

TEST_F(DemoReport, LoggedOutAgentNeedsNoSession) {
  final_state("LoggedOut", "Offline");
  shows("g-1", presence{"Available", "Available"}, std::nullopt);

  const auto r = make_report(in);

  EXPECT_TRUE(r.consistent);
  EXPECT_EQ(r.expected_changes, 0);
}

TEST_F(DemoReport, WriteToOfficeUserIsInconsistent) {
  logged_in_and_written();
  write(30, "Busy", "InACall", "g-2");

  const auto r = make_report(in);

  ASSERT_EQ(r.inconsistent.size(), 1u);
  EXPECT_EQ(r.inconsistent[0].person, "otto@example.com");
}

TEST_F(DemoReport, RequestsPerChangeUseTheCounters) {
  logged_in_and_written();
  change(100, "Lunch");
  write(116, "Away", "Away");
  final_state("Lunch");
  shows("g-1", presence{"Away", "Away"}, presence{"Away", "Away"});
  in.counters.graph_batches = 1;
  in.counters.graph_batch_subrequests = 1;
  in.counters.graph_set_presence = 2; // one in the batch, one direct
  in.counters.connect_list_agent_statuses = 1;
  in.counters.graph_polls = 240;

  const auto r = make_report(in);

  EXPECT_EQ(r.write_requests, 3);
  EXPECT_DOUBLE_EQ(r.requests_per_change, 1.5);
  EXPECT_DOUBLE_EQ(r.writes_per_change, 1.0);
  EXPECT_DOUBLE_EQ(r.poll_cycles, 120.0);
  EXPECT_DOUBLE_EQ(r.poll_requests_per_cycle, 2.0);
}

TEST_F(DemoReport, SessionsFromWritesFollowTheLastSuccess) {
  write(1, "Busy", "InACall");
  write(2, "Away", "Away", "g-1", 429);
  clear(3, "g-2");

  const auto sessions = sessions_from_writes(in.writes, session);

  ASSERT_EQ(sessions.size(), 2u);
  EXPECT_EQ(sessions.at("g-1"), (presence{"Busy", "InACall"}));
  EXPECT_FALSE(sessions.at("g-2").has_value());
}

TEST(DemoReportStates, EmulatorStatesMapToDesignNames) {
  EXPECT_EQ(state_name("on_call", "Available"), "OnContact");
  EXPECT_EQ(state_name("incoming", "Available"), "Incoming");
  EXPECT_EQ(state_name("after_contact_work", "Lunch"), "AfterContactWork");
  EXPECT_EQ(state_name("missed", "Available"), "Missed");
  EXPECT_EQ(state_name("logged_out", "Offline"), "LoggedOut");
  EXPECT_EQ(state_name("custom", "Lunch"), "Lunch");
  EXPECT_EQ(state_name("available", "Available"), "Available");
  EXPECT_EQ(state_name("offline", "Offline"), "Offline");
}

TEST_F(DemoReport, JsonCarriesTheRequiredKeys) {
  logged_in_and_written();

  const auto json = report_json(make_report(in));

  for (const char* key :
       {"\"persons\":2", "\"consistent\":true", "\"redundant_writes\":0",
        "\"short_changes_suppressed\":0", "\"writes_per_change\":1.000",
        "\"requests_per_change\":0.000", "\"max_delay_ms\":500",
        "\"inconsistent\":[]", "\"passed\":true", "\"failures\":[]"}) {
    EXPECT_NE(json.find(key), std::string::npos) << key << " in " << json;
  }
  EXPECT_EQ(json.front(), '{');
  EXPECT_EQ(json.back(), '}');
}

TEST_F(DemoReport, TextNamesTheFailures) {
  logged_in_and_written();
  write(40, "Available", "Available");

  const auto text = report_text(make_report(in));

  EXPECT_NE(text.find("FAIL: 1 redundant writes"), std::string::npos) << text;
}

} // namespace
} // namespace presync::sim
