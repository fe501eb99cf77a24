// The Connect emulator binary over loopback: REST operations, SigV4
// rejection, agent model, idempotency and fault knobs.
#include "support.hpp"

#include "emulators/connect/util.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <chrono>
#include <filesystem>

namespace emu = presync::connect_emulator;
using emu::testing::child_process;
using emu::testing::control;
using emu::testing::response;

namespace {

constexpr const char* instance = "00000000-0000-0000-0000-0000000000aa";
constexpr const char* agent1 = "11111111-1111-4111-8111-000000000001";
constexpr const char* lunch_id = "aaaaaaaa-0000-4000-8000-000000000003";
const emu::sigv4::credentials creds{"AKIDTEST", "test-secret", {}};

class EmulatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    emu_ = std::make_unique<child_process>(std::vector<std::string>{
      emu::testing::bin_path("presync-connect-emulator"), "--listen",
      "127.0.0.1:0", "--agents", "5", "--access-key-id", creds.access_key_id,
      "--secret-access-key", creds.secret_access_key});
    ASSERT_GT(emu_->port(), 0) << "first line: " << emu_->first_line();
    port_ = emu_->port();
  }

  // The emulator clock, so signatures stay valid after clock advances.
  std::int64_t emulator_now() {
    const response r = control(port_, "GET", "/_control/clock");
    simdjson::dom::element doc = parse(r.body);
    return doc["now_ms"].get_int64().value();
  }

  response rest(const std::string& method, const std::string& target,
                const std::string& body = {}) {
    return emu::testing::send_signed(
      port_,
      emu::testing::make_request(port_, method, target, body,
                                 body.empty() ? "" : "application/json"),
      creds, "connect", emulator_now());
  }

  simdjson::dom::element parse(const std::string& text) {
    docs_.emplace_back(std::make_unique<simdjson::dom::parser>());
    return docs_.back()->parse(text).value();
  }

  std::unique_ptr<child_process> emu_;
  int port_ = 0;
  std::vector<std::unique_ptr<simdjson::dom::parser>> docs_;
};

std::string str(simdjson::dom::element e) {
  return std::string(e.get_string().value());
}

} // namespace

TEST_F(EmulatorTest, PrintsListeningLineWithPort) {
  EXPECT_EQ(emu_->first_line(), "listening 127.0.0.1:" + std::to_string(port_));
}

TEST_F(EmulatorTest, ListUsersPagesThroughEveryAgent) {
  std::vector<std::string> names;
  std::string token;
  int pages = 0;
  do {
    std::string target =
      std::string("/users-summary/") + instance + "?maxResults=2";
    if (!token.empty()) {
      target += "&nextToken=" + token;
    }
    const response r = rest("GET", target);
    ASSERT_EQ(r.status, 200) << r.body;
    auto doc = parse(r.body);
    for (auto u : doc["UserSummaryList"].get_array()) {
      names.push_back(str(u["Username"]));
      EXPECT_NE(str(u["Arn"]).find("/agent/" + str(u["Id"])),
                std::string::npos);
      EXPECT_TRUE(u["LastModifiedTime"].is_number());
    }
    std::string_view next;
    token = doc["NextToken"].get_string().get(next) ? "" : std::string(next);
    // base64 may hold '=' and '+': encode for the query string
    std::string encoded;
    for (char c : token) {
      encoded += (c == '=') ? "%3D" : (c == '+') ? "%2B" : std::string(1, c);
    }
    token = encoded;
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  ASSERT_EQ(names.size(), 5u);
  EXPECT_EQ(names.front(), "agent0001@example.com");
  EXPECT_EQ(names.back(), "agent0005@example.com");
}

TEST_F(EmulatorTest, DescribeUserHasFixtureFields) {
  const response r =
    rest("GET", std::string("/users/") + instance + "/" + agent1);
  ASSERT_EQ(r.status, 200) << r.body;
  auto user = parse(r.body)["User"];
  EXPECT_EQ(str(user["Id"]), agent1);
  EXPECT_EQ(str(user["Username"]), "agent0001@example.com");
  EXPECT_EQ(str(user["IdentityInfo"]["Email"]), "agent0001@example.com");
  EXPECT_EQ(str(user["RoutingProfileId"]),
            "22222222-2222-4222-8222-222222222222");

  // Every key of the fixture's User appears in ours.
  simdjson::dom::parser fixture_parser;
  auto fixture = fixture_parser
                   .load(std::string(PRESYNC_SHARED_DIR) +
                         "/fixtures/connect/describe-user.json")
                   .value()["User"];
  for (auto field : fixture.get_object()) {
    EXPECT_NE(user[field.key].error(), simdjson::NO_SUCH_FIELD) << field.key;
  }
}

TEST_F(EmulatorTest, DescribeUnknownUserIsResourceNotFound) {
  const response r = rest("GET", std::string("/users/") + instance +
                                   "/11111111-1111-4111-8111-999999999999");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.header("x-amzn-ErrorType"), "ResourceNotFoundException");
  EXPECT_FALSE(r.header("x-amzn-RequestId").empty());
  EXPECT_NE(r.body.find("\"Message\""), std::string::npos);
}

TEST_F(EmulatorTest, ListAgentStatusesFiltersByRepeatedType) {
  const response r = rest("GET", std::string("/agent-status/") + instance +
                                   "?AgentStatusTypes=ROUTABLE&"
                                   "AgentStatusTypes=OFFLINE");
  ASSERT_EQ(r.status, 200) << r.body;
  std::vector<std::string> names;
  for (auto s : parse(r.body)["AgentStatusSummaryList"].get_array()) {
    names.push_back(str(s["Name"]));
  }
  EXPECT_EQ(names, (std::vector<std::string>{"Available", "Offline"}));

  const response all = rest("GET", std::string("/agent-status/") + instance);
  std::vector<std::string> every;
  for (auto s : parse(all.body)["AgentStatusSummaryList"].get_array()) {
    every.push_back(str(s["Name"]));
  }
  EXPECT_EQ(every,
            (std::vector<std::string>{"Available", "Offline", "Lunch", "Break",
                                      "Training", "Meeting", "TeamsCall"}));
}

TEST_F(EmulatorTest, WrongSecretGetsInvalidSignatureException) {
  const auto r = emu::testing::send_signed(
    port_,
    emu::testing::make_request(port_, "GET",
                               std::string("/users-summary/") + instance),
    {creds.access_key_id, "wrong-secret", {}}, "connect", emulator_now());
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.header("x-amzn-ErrorType"), "InvalidSignatureException");
  auto doc = parse(r.body);
  EXPECT_TRUE(
    str(doc["Message"])
      .starts_with(
        "The request signature we calculated does not match the signature you "
        "provided."));
  EXPECT_EQ(r.body.find("wrong-secret"), std::string::npos);
}

TEST_F(EmulatorTest, BodyChangedAfterSigningIsRejected) {
  auto req = emu::testing::make_request(
    port_, "PUT", std::string("/users/") + instance + "/" + agent1 + "/status",
    std::string(R"({"AgentStatusId":")") + lunch_id + "\"}",
    "application/json");
  emu::sigv4::sign(req, creds, "us-east-1", "connect", emulator_now());
  req.body = R"({"AgentStatusId":"aaaaaaaa-0000-4000-8000-000000000004"})";
  const response r = emu::testing::send(port_, req);
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.header("x-amzn-ErrorType"), "InvalidSignatureException");
}

TEST_F(EmulatorTest, UnknownKeyMissingAuthAndOldDateAreRejected) {
  const std::string target = std::string("/users-summary/") + instance;
  const auto unknown = emu::testing::send_signed(
    port_, emu::testing::make_request(port_, "GET", target),
    {"AKIDUNKNOWN", creds.secret_access_key, {}}, "connect", emulator_now());
  EXPECT_EQ(unknown.status, 403);
  EXPECT_EQ(unknown.header("x-amzn-ErrorType"), "UnrecognizedClientException");

  const auto missing =
    emu::testing::send(port_, emu::testing::make_request(port_, "GET", target));
  EXPECT_EQ(missing.status, 403);
  EXPECT_EQ(missing.header("x-amzn-ErrorType"),
            "MissingAuthenticationTokenException");

  const auto old = emu::testing::send_signed(
    port_, emu::testing::make_request(port_, "GET", target), creds, "connect",
    emulator_now() - 6 * 60 * 1000);
  EXPECT_EQ(old.status, 403);
  EXPECT_EQ(old.header("x-amzn-ErrorType"), "InvalidSignatureException");
  EXPECT_NE(old.body.find("Signature expired"), std::string::npos);

  // Host must be signed: sign without it, then add it.
  emu::sigv4::request no_host;
  no_host.method = "GET";
  no_host.target = target;
  emu::sigv4::sign(no_host, creds, "us-east-1", "connect", emulator_now());
  no_host.headers.emplace_back("Host", "127.0.0.1");
  const auto unsigned_host = emu::testing::send(port_, no_host);
  EXPECT_EQ(unsigned_host.status, 400);
  EXPECT_EQ(unsigned_host.header("x-amzn-ErrorType"),
            "IncompleteSignatureException");
}

TEST_F(EmulatorTest, PutUserStatusSetsStatusWhenIdle) {
  ASSERT_EQ(
    control(port_, "POST", std::string("/_control/agents/") + agent1 + "/login")
      .status,
    200);
  const response r =
    rest("PUT", std::string("/users/") + instance + "/" + agent1 + "/status",
         std::string(R"({"AgentStatusId":")") + lunch_id + "\"}");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(r.body.empty());
  auto state = parse(
    control(port_, "GET", std::string("/_control/agents/") + agent1).body);
  EXPECT_EQ(str(state["status"]["name"]), "Lunch");
  EXPECT_TRUE(state["next_status"].is_null());
  EXPECT_EQ(str(state["effective_state"]), "custom");
}

TEST_F(EmulatorTest, PutUserStatusDuringContactSetsNextStatus) {
  const std::string base = std::string("/_control/agents/") + agent1;
  ASSERT_EQ(control(port_, "POST", base + "/login").status, 200);
  const response offer = control(port_, "POST", base + "/contacts");
  ASSERT_EQ(offer.status, 200) << offer.body;
  const std::string cid = str(parse(offer.body)["contact_id"]);
  ASSERT_EQ(
    control(port_, "POST", base + "/contacts/" + cid + "/connect").status, 200);

  const response put =
    rest("PUT", std::string("/users/") + instance + "/" + agent1 + "/status",
         std::string(R"({"AgentStatusId":")") + lunch_id + "\"}");
  ASSERT_EQ(put.status, 200) << put.body;
  auto during = parse(control(port_, "GET", base).body);
  EXPECT_EQ(str(during["status"]["name"]), "Available");
  EXPECT_EQ(str(during["next_status"]["name"]), "Lunch");
  EXPECT_EQ(str(during["effective_state"]), "on_call");

  ASSERT_EQ(control(port_, "POST", base + "/contacts/" + cid + "/end").status,
            200);
  auto acw = parse(control(port_, "GET", base).body);
  EXPECT_EQ(str(acw["effective_state"]), "after_contact_work");
  EXPECT_EQ(str(acw["status"]["name"]), "Available");

  ASSERT_EQ(control(port_, "POST", base + "/contacts/" + cid + "/clear").status,
            200);
  auto after = parse(control(port_, "GET", base).body);
  EXPECT_EQ(str(after["status"]["name"]), "Lunch");
  EXPECT_TRUE(after["next_status"].is_null());
  EXPECT_EQ(after["contacts"].get_array().size(), 0u);

  // The stream saw the queued status as NextAgentStatus.
  auto events =
    parse(control(port_, "GET", std::string("/_control/events?agent=") + agent1)
            .body)["events"];
  bool saw_next = false;
  for (auto e : events.get_array()) {
    auto next = e["record"]["CurrentAgentSnapshot"]["NextAgentStatus"];
    if (next.error() == simdjson::SUCCESS) {
      saw_next = saw_next || str(next["Name"]) == "Lunch";
    }
  }
  EXPECT_TRUE(saw_next);

  auto puts = parse(control(port_, "GET", "/_control/put-user-status").body);
  EXPECT_EQ(str(puts["requests"].at(0)["applied"]), "next");
}

TEST_F(EmulatorTest, GetCurrentUserDataShowsContactsAndFilters) {
  const std::string base = std::string("/_control/agents/") + agent1;
  ASSERT_EQ(control(port_, "POST", base + "/login").status, 200);
  const std::string cid =
    str(parse(control(port_, "POST", base + "/contacts").body)["contact_id"]);
  ASSERT_EQ(
    control(port_, "POST", base + "/contacts/" + cid + "/connect").status, 200);
  ASSERT_EQ(control(port_, "POST", base + "/contacts/" + cid + "/hold").status,
            200);

  const response r = rest("POST", std::string("/metrics/userdata/") + instance,
                          std::string(R"({"Filters":{"Agents":[")") + agent1 +
                            R"("]},"MaxResults":100})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto doc = parse(r.body);
  EXPECT_EQ(doc["ApproximateTotalCount"].get_int64().value(), 1);
  auto user = doc["UserDataList"].at(0);
  EXPECT_EQ(str(user["User"]["Id"]), agent1);
  EXPECT_EQ(str(user["Status"]["StatusName"]), "Available");
  auto contact = user["Contacts"].at(0);
  EXPECT_EQ(str(contact["ContactId"]), cid);
  EXPECT_EQ(str(contact["AgentContactState"]), "CONNECTED_ONHOLD");
  // On hold keeps the connected time.
  EXPECT_EQ(contact["StateStartTimestamp"].get_double().value(),
            contact["ConnectedToAgentTimestamp"].get_double().value());

  // Logged-out agents are not listed; a contact-state filter narrows.
  const response none =
    rest("POST", std::string("/metrics/userdata/") + instance,
         R"({"Filters":{"Agents":["11111111-1111-4111-8111-000000000002"]}})");
  EXPECT_EQ(parse(none.body)["UserDataList"].get_array().size(), 0u);
  const response filtered =
    rest("POST", std::string("/metrics/userdata/") + instance,
         R"({"Filters":{"Queues":["33333333-3333-4333-8333-333333333333"],)"
         R"("ContactFilter":{"ContactStates":["CONNECTING"]}}})");
  EXPECT_EQ(parse(filtered.body)["UserDataList"].get_array().size(), 0u);

  const response two =
    rest("POST", std::string("/metrics/userdata/") + instance,
         R"({"Filters":{"Agents":["a"],"Queues":["b"]}})");
  EXPECT_EQ(two.status, 400);
  EXPECT_EQ(two.header("x-amzn-ErrorType"), "InvalidRequestException");
}

TEST_F(EmulatorTest, ClientTokenReturnsSameContactId) {
  const std::string body =
    std::string(R"({"InstanceId":")") + instance +
    R"(","ContactFlowId":"99999999-9999-4999-8999-999999999999",)"
    R"("DestinationPhoneNumber":"+15555550100",)"
    R"("QueueId":"33333333-3333-4333-8333-333333333334",)"
    R"("Attributes":{"origin":"teams-sync"},"ClientToken":"tok-1"})";
  const response first = rest("PUT", "/contact/outbound-voice", body);
  const response second = rest("PUT", "/contact/outbound-voice", body);
  ASSERT_EQ(first.status, 200) << first.body;
  const std::string id1 = str(parse(first.body)["ContactId"]);
  EXPECT_EQ(id1, str(parse(second.body)["ContactId"]));

  std::string other_body = body;
  other_body.replace(other_body.find("tok-1"), 5, "tok-2");
  const response other = rest("PUT", "/contact/outbound-voice", other_body);
  EXPECT_NE(str(parse(other.body)["ContactId"]), id1);

  auto calls =
    parse(control(port_, "GET", "/_control/outbound-calls").body)["calls"];
  ASSERT_EQ(calls.get_array().size(), 3u);
  EXPECT_EQ(str(calls.at(0)["destination"]), "+15555550100");
  EXPECT_EQ(str(calls.at(0)["contact_flow_id"]),
            "99999999-9999-4999-8999-999999999999");
  EXPECT_EQ(str(calls.at(0)["attributes"]["origin"]), "teams-sync");
  EXPECT_FALSE(calls.at(0)["replay"].get_bool().value());
  EXPECT_TRUE(calls.at(1)["replay"].get_bool().value());
}

TEST_F(EmulatorTest, OutboundRejectsNonE164Destination) {
  const response r =
    rest("PUT", "/contact/outbound-voice",
         std::string(R"({"InstanceId":")") + instance +
           R"(","ContactFlowId":"f","DestinationPhoneNumber":"0800 123",)"
           R"("QueueId":"q"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.header("x-amzn-ErrorType"), "InvalidParameterException");
}

TEST_F(EmulatorTest, ThrottlingKnobAnswers429UntilTokensRefill) {
  // One token per 1000 s of emulator time: only the clock refills it.
  ASSERT_EQ(control(port_, "POST", "/_control/knobs",
                    R"({"throttle_rps":0.001,"throttle_burst":1})")
              .status,
            200);
  const std::string target = std::string("/users-summary/") + instance;
  EXPECT_EQ(rest("GET", target).status, 200);
  for (int i = 0; i < 3; ++i) {
    const response r = rest("GET", target);
    EXPECT_EQ(r.status, 429);
    EXPECT_EQ(r.header("x-amzn-ErrorType"), "ThrottlingException");
    EXPECT_NE(r.body.find("Rate exceeded"), std::string::npos);
  }
  ASSERT_EQ(
    control(port_, "POST", "/_control/clock/advance", R"({"seconds":1001})")
      .status,
    200);
  EXPECT_EQ(rest("GET", target).status, 200);

  auto counters = parse(control(port_, "GET", "/_control/counters").body);
  auto list_users = counters["operations"]["ListUsers"];
  EXPECT_EQ(list_users["requests"].get_int64().value(), 5);
  EXPECT_EQ(list_users["throttled"].get_int64().value(), 3);
}

TEST_F(EmulatorTest, FailNextKnobInjectsServerErrors) {
  ASSERT_EQ(control(port_, "POST", "/_control/knobs",
                    R"({"fail_next":2,"fail_next_status":503,)"
                    R"("fail_next_code":"ServiceUnavailableException"})")
              .status,
            200);
  const std::string target = std::string("/agent-status/") + instance;
  EXPECT_EQ(rest("GET", target).status, 503);
  const response second = rest("GET", target);
  EXPECT_EQ(second.status, 503);
  EXPECT_EQ(second.header("x-amzn-ErrorType"), "ServiceUnavailableException");
  EXPECT_EQ(rest("GET", target).status, 200);

  ASSERT_EQ(
    control(port_, "POST", "/_control/knobs", R"({"error_rate":1})").status,
    200);
  const response always = rest("GET", target);
  EXPECT_EQ(always.status, 500);
  EXPECT_EQ(always.header("x-amzn-ErrorType"), "InternalServiceException");
}

TEST_F(EmulatorTest, LatencyKnobDelaysResponses) {
  ASSERT_EQ(
    control(port_, "POST", "/_control/knobs", R"({"latency_ms":300})").status,
    200);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(rest("GET", std::string("/agent-status/") + instance).status, 200);
  EXPECT_GE(std::chrono::steady_clock::now() - start,
            std::chrono::milliseconds(300));
}

TEST_F(EmulatorTest, HeartbeatFollowsTwoMinutesOfEmulatorTime) {
  const std::string base = std::string("/_control/agents/") + agent1;
  ASSERT_EQ(control(port_, "POST", base + "/login").status, 200);
  ASSERT_EQ(
    control(port_, "POST", "/_control/clock/advance", R"({"seconds":250})")
      .status,
    200);
  auto events =
    parse(control(port_, "GET", std::string("/_control/events?agent=") + agent1)
            .body)["events"];
  std::vector<std::string> types;
  for (auto e : events.get_array()) {
    types.push_back(str(e["type"]));
  }
  EXPECT_EQ(types, (std::vector<std::string>{"LOGIN", "STATE_CHANGE",
                                             "HEART_BEAT", "HEART_BEAT"}));
}

TEST_F(EmulatorTest, HeartbeatsStopAnHourAfterLogout) {
  const std::string base = std::string("/_control/agents/") + agent1;
  ASSERT_EQ(control(port_, "POST", base + "/login").status, 200);
  ASSERT_EQ(control(port_, "POST", base + "/logout").status, 200);
  ASSERT_EQ(
    control(port_, "POST", "/_control/clock/advance", R"({"seconds":7200})")
      .status,
    200);
  auto events =
    parse(control(port_, "GET", std::string("/_control/events?agent=") + agent1)
            .body)["events"];
  int beats = 0;
  std::string last_beat;
  for (auto e : events.get_array()) {
    if (str(e["type"]) == "HEART_BEAT") {
      ++beats;
      last_beat = str(e["record"]["EventTimestamp"]);
    }
  }
  // 3600 s / 120 s = 30 heartbeats, the last one hour after the logout.
  EXPECT_EQ(beats, 30);
  const std::string logout_ts = str(events.at(2)["record"]["EventTimestamp"]);
  EXPECT_EQ(*emu::parse_iso(last_beat) - *emu::parse_iso(logout_ts),
            3600 * 1000);
}

TEST_F(EmulatorTest, MissedContactIsClearedByChoosingAStatus) {
  const std::string base = std::string("/_control/agents/") + agent1;
  ASSERT_EQ(control(port_, "POST", base + "/login").status, 200);
  const std::string cid =
    str(parse(control(port_, "POST", base + "/contacts").body)["contact_id"]);
  ASSERT_EQ(control(port_, "POST", base + "/contacts/" + cid + "/miss").status,
            200);
  EXPECT_EQ(str(parse(control(port_, "GET", base).body)["effective_state"]),
            "missed");
  ASSERT_EQ(
    control(port_, "POST", base + "/status", R"({"status":"Break"})").status,
    200);
  auto state = parse(control(port_, "GET", base).body);
  EXPECT_EQ(str(state["status"]["name"]), "Break");
  EXPECT_EQ(state["contacts"].get_array().size(), 0u);
}

TEST_F(EmulatorTest, LogoutWritesLogoutWithoutPreviousSnapshot) {
  const std::string base = std::string("/_control/agents/") + agent1;
  ASSERT_EQ(control(port_, "POST", base + "/login").status, 200);
  ASSERT_EQ(control(port_, "POST", base + "/logout").status, 200);
  auto events =
    parse(control(port_, "GET", std::string("/_control/events?agent=") + agent1)
            .body)["events"];
  auto last = events.at(2);
  EXPECT_EQ(str(last["type"]), "LOGOUT");
  EXPECT_EQ(last["record"]["PreviousAgentSnapshot"].error(),
            simdjson::NO_SUCH_FIELD);
  EXPECT_EQ(str(last["record"]["CurrentAgentSnapshot"]["AgentStatus"]["Type"]),
            "OFFLINE");
}

TEST_F(EmulatorTest, ControlApiCreatesAgentWithChosenIdentity) {
  const response made = control(
    port_, "POST", "/_control/agents",
    R"({"username":"jane.doe@example.com","first_name":"Jane",)"
    R"("last_name":"Doe","phone_type":"DESK_PHONE","did":"+15555550123"})");
  ASSERT_EQ(made.status, 200) << made.body;
  const std::string id = str(parse(made.body)["agents"].at(0)["id"]);
  EXPECT_EQ(id, "11111111-1111-4111-8111-000000000006");

  const response r = rest("GET", std::string("/users/") + instance + "/" + id);
  ASSERT_EQ(r.status, 200) << r.body;
  auto user = parse(r.body)["User"];
  EXPECT_EQ(str(user["Username"]), "jane.doe@example.com");
  EXPECT_EQ(str(user["IdentityInfo"]["LastName"]), "Doe");
  EXPECT_EQ(str(user["PhoneConfig"]["DeskPhoneNumber"]), "+15555550123");

  // The username is taken now; more generated agents continue the numbers.
  EXPECT_EQ(control(port_, "POST", "/_control/agents",
                    R"({"username":"jane.doe@example.com"})")
              .status,
            409);
  const response more =
    control(port_, "POST", "/_control/agents", R"({"count":2})");
  EXPECT_EQ(str(parse(more.body)["agents"].at(1)["username"]),
            "agent0008@example.com");
}

TEST_F(EmulatorTest, ControlApiNamesBadInput) {
  const response r = control(port_, "POST", "/_control/agents/nobody/login");
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(r.body.find("nobody"), std::string::npos);
  const response bad =
    control(port_, "POST", "/_control/knobs", R"({"error_rate":"high"})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("error_rate"), std::string::npos);
}

TEST_F(EmulatorTest, StopsCleanlyOnSigterm) {
  const int status = emu_->stop();
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}
