#include "adapters/connect/agent_event.hpp"

#include "fixture.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

using namespace presync::connect;
using presync::connect::testing::fixture_dir;
using presync::connect::testing::read_fixture;

namespace {

// The effective state each fixture must give (DESIGN.md §3).
const std::map<std::string, std::string> expected_states = {
  {"agent-event-login.json", "Offline"},
  {"agent-event-state-change-available.json", "Available"},
  {"agent-event-contact-connected.json", "OnContact"},
  {"agent-event-after-contact-work.json", "AfterContactWork"},
  {"agent-event-state-change-custom.json", "Lunch"},
  {"agent-event-heartbeat.json", "Lunch"},
  {"agent-event-logout.json", "LoggedOut"},
};

std::vector<std::string> event_fixtures() {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator{fixture_dir()}) {
    auto name = entry.path().filename().string();
    if (name.starts_with("agent-event-") && name.ends_with(".json")) {
      names.push_back(name);
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

// A small well-formed event; `snapshot` and `extra` replace its parts.
std::string minimal_event(
  std::string snapshot =
    R"({"AgentStatus":{"Name":"Available","Type":"ROUTABLE"},"Contacts":[]})",
  std::string type = "STATE_CHANGE",
  std::string timestamp = "2025-03-04T15:02:06.884Z", std::string extra = "") {
  return R"({"EventId":"e-1","EventType":")" + type +
         R"(","AgentARN":)"
         R"("arn:aws:connect:us-east-1:111122223333:instance/i-1/agent/u-1",)"
         R"("EventTimestamp":")" +
         timestamp + R"(","CurrentAgentSnapshot":)" + snapshot + extra + "}";
}

std::string error_of(const std::string& json) {
  auto r = parse_agent_event(json);
  return r ? std::string{"parsed"} : r.err().context;
}

class AgentEventFixture : public ::testing::TestWithParam<std::string> {};

} // namespace

TEST(AgentEventFixtures, EveryFixtureHasAnExpectedState) {
  auto names = event_fixtures();

  EXPECT_EQ(names.size(), expected_states.size());
  for (const auto& n : names) {
    EXPECT_TRUE(expected_states.contains(n)) << n;
  }
}

TEST_P(AgentEventFixture, GivesTheExpectedEffectiveState) {
  auto event = parse_agent_event(read_fixture(GetParam()));

  ASSERT_TRUE(event) << event.err().describe();
  EXPECT_EQ(event->effective_state, expected_states.at(GetParam()));
  EXPECT_EQ(event->user_id, "11111111-1111-4111-8111-111111111111");
  EXPECT_EQ(event->instance_arn,
            "arn:aws:connect:us-east-1:111122223333:instance/"
            "00000000-0000-0000-0000-0000000000aa");
  EXPECT_EQ(event->username, "jane.doe@example.com");
}

INSTANTIATE_TEST_SUITE_P(Connect, AgentEventFixture,
                         ::testing::ValuesIn(event_fixtures()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name =
                             info.param.substr(12, info.param.size() - 17);
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

TEST(AgentEvent, CopiesEveryFieldOfTheConnectedFixture) {
  auto e =
    parse_agent_event(read_fixture("agent-event-contact-connected.json"));

  ASSERT_TRUE(e);
  EXPECT_EQ(e->event_id, "0e6f0c1a-0000-4000-8000-000000000003");
  EXPECT_EQ(e->event_type, agent_event_type::state_change);
  EXPECT_EQ(e->event_type_text, "STATE_CHANGE");
  EXPECT_EQ(e->agent_arn, "arn:aws:connect:us-east-1:111122223333:instance/"
                          "00000000-0000-0000-0000-0000000000aa/agent/"
                          "11111111-1111-4111-8111-111111111111");
  EXPECT_EQ(e->timestamp_ms, 1741100526884);
  EXPECT_EQ(e->current.status_name, "Available");
  EXPECT_EQ(e->status_type, "ROUTABLE");
  EXPECT_EQ(e->status_arn, "arn:aws:connect:us-east-1:111122223333:instance/"
                           "00000000-0000-0000-0000-0000000000aa/agent-state/"
                           "aaaaaaaa-0000-4000-8000-000000000001");
  ASSERT_EQ(e->current.contacts.size(), 1u);
  EXPECT_EQ(e->current.contacts[0].state, "CONNECTED");
  EXPECT_EQ(e->current.contacts[0].channel, "VOICE");
  EXPECT_FALSE(e->current.logged_out);
  EXPECT_FALSE(e->next_status);
}

TEST(AgentEvent, MarksLogoutAsLoggedOut) {
  auto e = parse_agent_event(read_fixture("agent-event-logout.json"));

  ASSERT_TRUE(e);
  EXPECT_EQ(e->event_type, agent_event_type::logout);
  EXPECT_TRUE(e->current.logged_out);
  EXPECT_EQ(e->current.status_name, "Offline");
  EXPECT_EQ(e->timestamp_ms, 1741110305227);
}

TEST(AgentEvent, ReadsTheQueuedNextStatus) {
  auto e = parse_agent_event(
    minimal_event(R"({"AgentStatus":{"Name":"Available"},)"
                  R"("NextAgentStatus":{"ARN":"a","Name":"Lunch",)"
                  R"("EnqueuedTimestamp":"2025-03-04T15:03:00.000Z"},)"
                  R"("Contacts":[{"State":"CONNECTED","Channel":"VOICE"}]})"));

  ASSERT_TRUE(e);
  EXPECT_EQ(e->next_status, "Lunch");
  EXPECT_EQ(e->effective_state, "OnContact");
}

TEST(AgentEvent, AcceptsAbsentOrNullPreviousSnapshot) {
  auto absent = parse_agent_event(minimal_event());
  auto null = parse_agent_event(minimal_event(
    R"({"AgentStatus":{"Name":"Lunch"},"Contacts":[]})", "STATE_CHANGE",
    "2025-03-04T15:02:06.884Z", R"(,"PreviousAgentSnapshot":null)"));

  ASSERT_TRUE(absent);
  ASSERT_TRUE(null);
  EXPECT_EQ(null->effective_state, "Lunch");
}

TEST(AgentEvent, ParsesTimestampsWithAnyFractionLength) {
  auto ms = [](std::string ts) {
    auto e = parse_agent_event(minimal_event(
      R"({"AgentStatus":{"Name":"A"},"Contacts":[]})", "LOGIN", ts));
    return e ? e->timestamp_ms : -1;
  };

  EXPECT_EQ(ms("2025-03-04T15:02:06Z"), 1741100526000);
  EXPECT_EQ(ms("2025-03-04T15:02:06.8Z"), 1741100526800);
  EXPECT_EQ(ms("2025-03-04T15:02:06.88Z"), 1741100526880);
  EXPECT_EQ(ms("2025-03-04T15:02:06.884999Z"), 1741100526884);
  EXPECT_EQ(ms("2025-03-04T16:02:06.884+01:00"), 1741100526884);
  EXPECT_EQ(ms("2025-03-04T15:02:06.Z"), -1);
  EXPECT_EQ(ms("2025-03-04 15:02:06Z"), -1);
}

TEST(AgentEvent, KeepsAnUnknownEventTypeAndItsSnapshot) {
  auto e = parse_agent_event(minimal_event(
    R"({"AgentStatus":{"Name":"Break"},"Contacts":[]})", "NEW_KIND"));

  ASSERT_TRUE(e);
  EXPECT_EQ(e->event_type, agent_event_type::unknown);
  EXPECT_EQ(e->event_type_text, "NEW_KIND");
  EXPECT_EQ(e->effective_state, "Break");
}

TEST(AgentEvent, AcceptsLogoutWithoutSnapshot) {
  std::string json = R"({"EventId":"e-9","EventType":"LOGOUT",)"
                     R"("AgentARN":"arn:aws:connect:r:a:instance/i/agent/u",)"
                     R"("EventTimestamp":"2025-03-04T17:45:05.227Z"})";

  auto e = parse_agent_event(json);

  ASSERT_TRUE(e) << e.err().describe();
  EXPECT_EQ(e->effective_state, "LoggedOut");
  EXPECT_EQ(e->instance_arn, "arn:aws:connect:r:a:instance/i");
}

TEST(AgentEventMalformed, NamesTheMissingStatusName) {
  EXPECT_EQ(error_of(minimal_event(R"({"AgentStatus":{},"Contacts":[]})")),
            "CurrentAgentSnapshot.AgentStatus.Name: missing");
}

TEST(AgentEventMalformed, NamesAStatusNameOfTheWrongType) {
  EXPECT_EQ(
    error_of(minimal_event(R"({"AgentStatus":{"Name":7},"Contacts":[]})")),
    "CurrentAgentSnapshot.AgentStatus.Name: not a string");
}

TEST(AgentEventMalformed, NamesTheContactWithoutState) {
  EXPECT_EQ(error_of(minimal_event(
              R"({"AgentStatus":{"Name":"A"},"Contacts":[)"
              R"({"State":"ENDED","Channel":"CHAT"},{"Channel":"VOICE"}]})")),
            "CurrentAgentSnapshot.Contacts[1].State: missing");
}

TEST(AgentEventMalformed, RejectsContactsThatAreNotAList) {
  EXPECT_EQ(
    error_of(minimal_event(R"({"AgentStatus":{"Name":"A"},"Contacts":{}})")),
    "CurrentAgentSnapshot.Contacts: not an array");
  EXPECT_EQ(error_of(minimal_event(R"({"AgentStatus":{"Name":"A"}})")),
            "CurrentAgentSnapshot.Contacts: missing");
}

TEST(AgentEventMalformed, RejectsAMissingSnapshotOutsideLogout) {
  std::string json =
    R"({"EventId":"e","EventType":"HEART_BEAT",)"
    R"("AgentARN":"arn:aws:connect:r:a:instance/i/agent/u",)"
    R"("EventTimestamp":"2025-03-04T17:45:05.227Z","CurrentAgentSnapshot":null})";

  EXPECT_EQ(error_of(json), "CurrentAgentSnapshot: missing");
}

TEST(AgentEventMalformed, RejectsAnEventIdOfTheWrongType) {
  auto json = minimal_event();
  json.replace(json.find(R"("e-1")"), 5, "42");

  EXPECT_EQ(error_of(json), "EventId: not a string");
}

TEST(AgentEventMalformed, RejectsAnArnThatIsNoAgentArn) {
  auto json = minimal_event();
  json.replace(json.find("/agent/u-1"), 10, "/queue/q-1");

  EXPECT_EQ(error_of(json), "AgentARN: not an agent ARN (…/agent/<UserId>)");
}

TEST(AgentEventMalformed, RejectsABadTimestamp) {
  EXPECT_EQ(
    error_of(minimal_event(R"({"AgentStatus":{"Name":"A"},"Contacts":[]})",
                           "LOGIN", "yesterday")),
    "EventTimestamp: not an ISO-8601 time");
}

TEST(AgentEventMalformed, RejectsEveryTruncationOfAFixture) {
  auto full = read_fixture("agent-event-after-contact-work.json");
  auto end = full.find_last_of('}');

  for (size_t cut = 0; cut < end; cut += 97) {
    auto r = parse_agent_event(full.substr(0, cut));
    EXPECT_FALSE(r) << "cut at " << cut;
  }
  EXPECT_TRUE(parse_agent_event(full.substr(0, end + 1)));
}

TEST(AgentEventMalformed, RejectsTrailingContentAndNonObjects) {
  EXPECT_FALSE(parse_agent_event(minimal_event() + "{}"));
  EXPECT_EQ(error_of("[1,2]"), "agent event: not a JSON object");
  EXPECT_FALSE(parse_agent_event(""));
}

TEST(AgentEventMalformed, RequiresTheIdentifyingFields) {
  auto without = [](std::string key) {
    auto json = minimal_event();
    auto at = json.find("\"" + key + "\"");
    auto comma = json.find("\",", at);
    json.erase(at, comma + 2 - at);
    return error_of(json);
  };

  EXPECT_EQ(without("EventId"), "EventId: missing");
  EXPECT_EQ(without("EventType"), "EventType: missing");
  EXPECT_EQ(without("AgentARN"), "AgentARN: missing");
  EXPECT_EQ(without("EventTimestamp"), "EventTimestamp: missing");
}

TEST(AgentEvent, TakesTheUserIdFromTheArn) {
  EXPECT_EQ(arn_last_segment("arn:aws:connect:r:a:instance/i/agent/u-7"),
            "u-7");
  EXPECT_EQ(arn_last_segment("no-slash"), "");
}

// Records with escapes, non-ASCII text or unusual JSON take the On-Demand
// reader instead of the one-pass one; the answers must not differ.

TEST(AgentEventReaders, UnescapesAnEscapedStatusName) {
  auto e = parse_agent_event(
    minimal_event(R"({"AgentStatus":{"Name":"Lun\u0063h"},"Contacts":[]})"));

  ASSERT_TRUE(e) << e.err().describe();
  EXPECT_EQ(e->current.status_name, "Lunch");
  EXPECT_EQ(e->effective_state, "Lunch");
}

TEST(AgentEventReaders, KeepsANonAsciiStatusNameAsSent) {
  auto e = parse_agent_event(minimal_event(
    "{\"AgentStatus\":{\"Name\":\"Pause caf\xc3\xa9\"},\"Contacts\":[]}"));

  ASSERT_TRUE(e) << e.err().describe();
  EXPECT_EQ(e->current.status_name, "Pause caf\xc3\xa9");
}

TEST(AgentEventReaders, RejectsInvalidUtf8InAMemberNobodyReads) {
  auto json = minimal_event(
    R"({"AgentStatus":{"Name":"A"},"Contacts":[]})", "STATE_CHANGE",
    "2025-03-04T15:02:06.884Z",
    ",\"PreviousAgentSnapshot\":{\"AgentStatus\":{\"Name\":\"\xff\"}}");

  EXPECT_TRUE(error_of(json).starts_with("agent event: invalid JSON ("))
    << error_of(json);
}

TEST(AgentEventReaders, ReadsPrettyPrintedAndCompactRecordsAlike) {
  auto compact = minimal_event(
    R"({"AgentStatus":{"Name":"Lunch"},"Contacts":[{"State":"ENDED",)"
    R"("Channel":"CHAT","Queue":{"ARN":"q","Name":null}}]})",
    "STATE_CHANGE", "2025-03-04T15:02:06.884Z",
    R"(,"PreviousAgentSnapshot":{"Contacts":[[{"a":[1.5e3,true]}],"]}"]})");
  // Whitespace after every comma, brace and colon outside strings.
  std::string pretty;
  bool in_string = false;
  for (char c : compact) {
    pretty += c;
    in_string = in_string != (c == '"');
    if (!in_string && (c == ',' || c == '{' || c == ':')) {
      pretty += "\n  \t";
    }
  }

  auto a = parse_agent_event(compact);
  auto b = parse_agent_event(pretty);

  ASSERT_TRUE(a) << a.err().describe();
  ASSERT_TRUE(b) << b.err().describe();
  EXPECT_EQ(a->effective_state, "AfterContactWork");
  EXPECT_EQ(b->effective_state, a->effective_state);
  EXPECT_EQ(b->current.contacts.size(), 1u);
  EXPECT_EQ(b->event_id, a->event_id);
}
