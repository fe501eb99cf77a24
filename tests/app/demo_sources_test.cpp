// Reading the emulators' control API answers and presync's metrics back
// into the demo report's records (payloads in the emulators' shapes).
#include "app/demo_sources.hpp"

#include <gtest/gtest.h>

namespace presync::app::demo {
namespace {

TEST(DemoSources, MetricsSumByLabel) {
  const auto samples = parse_metrics(R"(# HELP presync_writes_total Writes.
# TYPE presync_writes_total counter
presync_writes_total{tenant="demo",side="teams",result="ok"} 12
presync_writes_total{tenant="demo",side="teams",result="throttled"} 2
presync_writes_total{tenant="demo",side="connect",result="ok"} 3
presync_loop_pauses_total{tenant="demo"} 0
presync_source_changes_total{tenant="a\"b",side="teams"} 1.5e2
)");

  EXPECT_EQ(samples.size(), 5u);
  EXPECT_DOUBLE_EQ(metric_sum(samples, "presync_writes_total"), 17);
  EXPECT_DOUBLE_EQ(
    metric_sum(samples, "presync_writes_total", {{"side", "teams"}}), 14);
  EXPECT_DOUBLE_EQ(metric_sum(samples, "presync_writes_total",
                              {{"side", "teams"}, {"result", "ok"}}),
                   12);
  EXPECT_DOUBLE_EQ(
    metric_sum(samples, "presync_source_changes_total", {{"tenant", "a\"b"}}),
    150);
}

TEST(DemoSources, MissingFamilySumsToZero) {
  const auto samples = parse_metrics("presync_writes_total 3\n");

  EXPECT_DOUBLE_EQ(
    metric_sum(samples, "presync_decisions_total", {{"decision", "held"}}), 0);
}

TEST(DemoSources, BrokenMetricLinesAreSkipped) {
  const auto samples =
    parse_metrics("a{b=\"c\" 1\nvalid 2\nnovalue\nbad{x=\"1\"} nan-ish\n");

  ASSERT_EQ(samples.size(), 1u);
  EXPECT_EQ(samples[0].name, "valid");
}

TEST(DemoSources, AgentsMapToDesignStates) {
  auto agents = parse_agents(R"({"agents":[
    {"id":"u-1","username":"agent0001@example.com",
     "email":"agent0001@example.com","logged_in":true,
     "status":{"id":"s","name":"Available","type":"ROUTABLE","start":"x"},
     "next_status":null,"contacts":[{"contact_id":"c","state":"CONNECTED"}],
     "effective_state":"on_call","snapshot":{}},
    {"id":"u-2","username":"agent0002@example.com","email":"e",
     "status":{"name":"Lunch"},"effective_state":"custom"},
    {"id":"u-3","username":"agent0003@example.com","email":"e",
     "status":{"name":"Offline"},"effective_state":"logged_out"}]})");

  ASSERT_TRUE(agents) << agents.err().describe();
  ASSERT_EQ(agents->size(), 3u);
  EXPECT_EQ((*agents)[0].state, "OnContact");
  EXPECT_EQ((*agents)[0].status_name, "Available");
  EXPECT_EQ((*agents)[0].username, "agent0001@example.com");
  EXPECT_EQ((*agents)[1].state, "Lunch");
  EXPECT_EQ((*agents)[2].state, "LoggedOut");
}

TEST(DemoSources, EventsGiveEffectiveStatesAndTheLastSequence) {
  std::uint64_t last = 0;
  auto changes = parse_events(R"({"events":[
    {"seq":7,"agent_id":"u-1","type":"LOGIN","record":{
      "EventType":"LOGIN","EventTimestamp":"2025-03-04T15:02:06.884Z",
      "CurrentAgentSnapshot":{"AgentStatus":{"Name":"Offline"},
                              "Contacts":[]}}},
    {"seq":8,"agent_id":"u-1","type":"STATE_CHANGE","record":{
      "EventType":"STATE_CHANGE","EventTimestamp":"2025-03-04T15:02:07.000Z",
      "CurrentAgentSnapshot":{"AgentStatus":{"Name":"Available"},
        "Contacts":[{"State":"CONNECTING","Channel":"VOICE"}]}}},
    {"seq":9,"agent_id":"u-1","type":"LOGOUT","record":{
      "EventType":"LOGOUT","EventTimestamp":"2025-03-04T15:03:00Z",
      "CurrentAgentSnapshot":{"AgentStatus":{"Name":"Offline"}}}}]})",
                              last);

  ASSERT_TRUE(changes) << changes.err().describe();
  ASSERT_EQ(changes->size(), 3u);
  EXPECT_EQ((*changes)[0].state, "Offline");
  EXPECT_EQ((*changes)[0].at_ms, 1741100526884);
  EXPECT_EQ((*changes)[1].state, "Incoming");
  EXPECT_EQ((*changes)[2].state, "LoggedOut");
  EXPECT_EQ((*changes)[2].connect_id, "u-1");
  EXPECT_EQ(last, 9u);
}

TEST(DemoSources, EventWithoutTimestampIsMalformed) {
  std::uint64_t last = 0;
  auto changes = parse_events(
    R"({"events":[{"seq":1,"agent_id":"u","record":{"EventType":"X"}}]})",
    last);

  ASSERT_FALSE(changes);
  EXPECT_EQ(changes.err().code, sync_error::malformed);
}

TEST(DemoSources, StatusPuts) {
  auto puts = parse_status_puts(R"({"requests":[
    {"user_id":"u-1","agent_status_id":"x","status_name":"Meeting",
     "applied":"current","received":"2025-03-04T15:02:06.884Z"}]})");

  ASSERT_TRUE(puts);
  ASSERT_EQ(puts->size(), 1u);
  EXPECT_EQ((*puts)[0].connect_id, "u-1");
  EXPECT_EQ((*puts)[0].status_name, "Meeting");
  EXPECT_EQ((*puts)[0].applied, "current");
  EXPECT_EQ((*puts)[0].at_ms, 1741100526884);
}

TEST(DemoSources, ConnectCounters) {
  sim::request_counters c;
  auto ok = parse_connect_counters(R"({"operations":{
    "PutUserStatus":{"requests":4,"errors":0,"throttled":1,"auth_failures":0},
    "ListAgentStatuses":{"requests":2,"errors":0,"throttled":0},
    "ListUsers":{"requests":3,"errors":0,"throttled":0}},
    "events":{"total":10}})",
                                   c);

  ASSERT_TRUE(ok);
  EXPECT_EQ(c.connect_put_user_status, 4);
  EXPECT_EQ(c.connect_list_agent_statuses, 2);
  EXPECT_EQ(c.connect_requests, 9);
  EXPECT_EQ(c.connect_throttled, 1);
}

TEST(DemoSources, GraphCountersLeaveBatchSubrequestsOut) {
  sim::request_counters c;
  auto ok = parse_graph_counters(R"({"operations":{
    "token":1,"users.list":2,"batch":3,"batch.subrequests":10,
    "presence.setPresence":11,"presence.clearPresence":1,
    "presence.getPresencesByUserId":40,"throttled":2,"unauthorized":1},
    "statuses":{"200":60}})",
                                 c);

  ASSERT_TRUE(ok);
  EXPECT_EQ(c.graph_batches, 3);
  EXPECT_EQ(c.graph_batch_subrequests, 10);
  EXPECT_EQ(c.graph_set_presence, 11);
  EXPECT_EQ(c.graph_clear_presence, 1);
  EXPECT_EQ(c.graph_polls, 40);
  EXPECT_EQ(c.graph_throttled, 2);
  EXPECT_EQ(c.graph_requests, 1 + 2 + 3 + 11 + 1 + 40 - 10);
}

TEST(DemoSources, Writes) {
  auto writes = parse_writes(R"({"writes":[
    {"timeMs":1000,"time":"x","operation":"setPresence","userId":"g-1",
     "sessionId":"S","availability":"Busy","activity":"InACall",
     "expirationDuration":"PT1H","status":200}]})");

  ASSERT_TRUE(writes);
  ASSERT_EQ(writes->size(), 1u);
  EXPECT_EQ((*writes)[0].at_ms, 1000);
  EXPECT_EQ((*writes)[0].operation, "setPresence");
  EXPECT_EQ((*writes)[0].availability, "Busy");
  EXPECT_EQ((*writes)[0].status, 200);
}

TEST(DemoSources, PresenceKeepsOnlyPresyncsSession) {
  auto p = parse_presence(R"({"id":"g-1","teamsUser":true,
    "aggregate":{"availability":"Busy","activity":"InAMeeting"},
    "sequenceNumber":"C1","teamsClient":null,"preferred":null,
    "outOfOffice":false,"sessions":[
      {"sessionId":"other","availability":"Away","activity":"Away",
       "effective":{"availability":"Away","activity":"Away"}},
      {"sessionId":"ABC","availability":"Available","activity":"Available",
       "effective":{"availability":"Available",
                    "activity":"AvailableInactive"},
       "lastSetMs":1,"expiresAtMs":2}]})",
                          "abc");

  ASSERT_TRUE(p) << p.err().describe();
  EXPECT_EQ(p->graph_id, "g-1");
  EXPECT_EQ(p->aggregate, (presence{"Busy", "InAMeeting"}));
  EXPECT_EQ(p->session, (presence{"Available", "Available"}));
  EXPECT_EQ(p->session_effective, (presence{"Available", "AvailableInactive"}));
}

TEST(DemoSources, PresenceWithoutPresyncSessionIsClear) {
  auto p = parse_presence(R"({"id":"g-1",
    "aggregate":{"availability":"Offline","activity":"Offline"},
    "sessions":[]})",
                          "abc");

  ASSERT_TRUE(p);
  EXPECT_FALSE(p->session);
}

TEST(DemoSources, IdsAndClocks) {
  EXPECT_EQ(*parse_user_id(R"({"id":"g-9","mail":"m"})"), "g-9");
  EXPECT_FALSE(parse_user_id(R"({"mail":"m"})"));
  EXPECT_EQ(*parse_contact_id(R"({"contact_id":"c-1","agent":{}})"), "c-1");
  EXPECT_EQ(*parse_clock_ms(R"({"now_ms":123,"now":"x","offset_ms":0})"), 123);
  EXPECT_EQ(*parse_clock_ms(R"({"nowMs":456,"mode":"real"})"), 456);
  EXPECT_FALSE(parse_clock_ms("not json"));
}

TEST(DemoSources, ListeningLine) {
  EXPECT_EQ(listening_port("listening 127.0.0.1:4567"), 4567);
  EXPECT_EQ(listening_port("listening [::1]:80"), 80);
  EXPECT_EQ(listening_port("listening 127.0.0.1:0"), 0);
  EXPECT_EQ(listening_port("listening 127.0.0.1:99999"), 0);
  EXPECT_EQ(listening_port("ready on 4567"), 0);
}

} // namespace
} // namespace presync::app::demo
