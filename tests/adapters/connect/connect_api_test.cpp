#include "adapters/connect/connect_api.hpp"

#include "fixture.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>

using namespace presync::connect;
using presync::sync_error;
using presync::connect::testing::read_fixture;

namespace {

const std::string instance_arn =
  "arn:aws:connect:us-east-1:111122223333:"
  "instance/00000000-0000-0000-0000-0000000000aa";
const std::string instance_id = "00000000-0000-0000-0000-0000000000aa";
const std::string jane = "11111111-1111-4111-8111-111111111111";

std::string header(const api_request& r, std::string_view name) {
  for (const auto& h : r.headers) {
    if (h.name == name) {
      return h.value;
    }
  }
  return "(absent)";
}

} // namespace

// -- Fixtures ----------------------------------------------------------------

TEST(ConnectListUsers, ParsesBothUsersOfTheFixture) {
  auto r = parse_list_users(read_fixture("list-users.json"));

  ASSERT_TRUE(r) << r.err().describe();
  ASSERT_EQ(r->users.size(), 2u);
  EXPECT_EQ(r->users[0].id, jane);
  EXPECT_EQ(r->users[0].arn, instance_arn + "/agent/" + jane);
  EXPECT_EQ(r->users[0].username, "jane.doe@example.com");
  EXPECT_EQ(r->users[0].last_modified_ms, 1740700800000);
  EXPECT_EQ(r->users[0].last_modified_region, "us-east-1");
  EXPECT_EQ(r->users[1].id, "11111111-1111-4111-8111-111111111112");
  EXPECT_EQ(r->users[1].username, "john.roe@example.com");
  EXPECT_EQ(r->users[1].last_modified_ms, 1740787200500);
  EXPECT_FALSE(r->next_token);
}

TEST(ConnectListUsers, ReadsTheNextToken) {
  auto r = parse_list_users(R"({"UserSummaryList":[],"NextToken":"p2"})");

  ASSERT_TRUE(r);
  EXPECT_EQ(r->next_token, "p2");
}

TEST(ConnectDescribeUser, ParsesIdentityAndPhoneConfig) {
  auto u = parse_describe_user(read_fixture("describe-user.json"));

  ASSERT_TRUE(u) << u.err().describe();
  EXPECT_EQ(u->id, jane);
  EXPECT_EQ(u->arn, instance_arn + "/agent/" + jane);
  EXPECT_EQ(u->username, "jane.doe@example.com");
  EXPECT_EQ(u->first_name, "Jane");
  EXPECT_EQ(u->last_name, "Doe");
  EXPECT_EQ(u->email, "jane.doe@example.com");
  EXPECT_EQ(u->phone_type, "DESK_PHONE");
  EXPECT_FALSE(u->auto_accept);
  EXPECT_EQ(u->after_contact_work_time_limit_s, 30);
  EXPECT_EQ(u->desk_phone_number, "+15555550123");
  EXPECT_EQ(u->directory_user_id, "77777777-7777-4777-8777-777777777777");
  EXPECT_EQ(u->security_profile_ids,
            std::vector<std::string>{"88888888-8888-4888-8888-888888888888"});
  EXPECT_EQ(u->routing_profile_id, "22222222-2222-4222-8222-222222222222");
  EXPECT_EQ(u->hierarchy_group_id, "55555555-5555-4555-8555-555555555552");
  EXPECT_EQ(u->last_modified_ms, 1740700800000);
}

TEST(ConnectDescribeUser, NamesAFieldOfTheWrongType) {
  auto u = parse_describe_user(
    R"({"User":{"Id":"u","PhoneConfig":{"AutoAccept":"no"}}})");

  ASSERT_FALSE(u);
  EXPECT_EQ(u.err().context, "User.PhoneConfig.AutoAccept: not a boolean");
  EXPECT_EQ(parse_describe_user("{}").err().context, "User: missing");
}

TEST(ConnectListAgentStatuses, ParsesEveryStatusOfTheFixture) {
  auto r = parse_list_agent_statuses(read_fixture("list-agent-statuses.json"));

  ASSERT_TRUE(r) << r.err().describe();
  ASSERT_EQ(r->statuses.size(), 4u);
  const char* names[] = {"Available", "Offline", "Lunch", "Break"};
  const char* types[] = {"ROUTABLE", "OFFLINE", "CUSTOM", "CUSTOM"};
  const int64_t times[] = {1735689600000, 1735693200000, 1735696800000,
                           1735700400000};
  for (size_t i = 0; i < 4; ++i) {
    auto id = "aaaaaaaa-0000-4000-8000-00000000000" + std::to_string(i + 1);
    EXPECT_EQ(r->statuses[i].id, id);
    EXPECT_EQ(r->statuses[i].arn, instance_arn + "/agent-state/" + id);
    EXPECT_EQ(r->statuses[i].name, names[i]);
    EXPECT_EQ(r->statuses[i].type, types[i]);
    EXPECT_EQ(r->statuses[i].last_modified_ms, times[i]);
    EXPECT_EQ(r->statuses[i].last_modified_region, "us-east-1");
  }
  EXPECT_FALSE(r->next_token);
}

TEST(ConnectListAgentStatuses, ResolvesANameToItsIdAndType) {
  auto r = parse_list_agent_statuses(read_fixture("list-agent-statuses.json"));
  ASSERT_TRUE(r);

  auto by_name = index_by_name(r->statuses);

  ASSERT_TRUE(by_name.contains("Lunch"));
  EXPECT_EQ(by_name.at("Lunch").id, "aaaaaaaa-0000-4000-8000-000000000003");
  EXPECT_EQ(by_name.at("Lunch").type, "CUSTOM");
  EXPECT_FALSE(by_name.contains("lunch"));
}

TEST(ConnectGetCurrentUserData, ParsesTheAgentOnACall) {
  auto r =
    parse_get_current_user_data(read_fixture("get-current-user-data.json"));

  ASSERT_TRUE(r) << r.err().describe();
  ASSERT_EQ(r->users.size(), 1u);
  const auto& u = r->users[0];
  EXPECT_EQ(u.user_id, jane);
  EXPECT_EQ(u.user_arn, instance_arn + "/agent/" + jane);
  EXPECT_EQ(u.status_name, "Available");
  EXPECT_EQ(u.status_arn,
            instance_arn + "/agent-state/aaaaaaaa-0000-4000-8000-000000000001");
  EXPECT_EQ(u.status_start_ms, 1741100350530);
  ASSERT_EQ(u.contacts.size(), 1u);
  EXPECT_EQ(u.contacts[0].contact_id, "44444444-4444-4444-8444-444444444444");
  EXPECT_EQ(u.contacts[0].channel, "VOICE");
  EXPECT_EQ(u.contacts[0].initiation_method, "INBOUND");
  EXPECT_EQ(u.contacts[0].state, "CONNECTED");
  EXPECT_EQ(u.contacts[0].state_start_ms, 1741100526884);
  EXPECT_EQ(u.contacts[0].connected_to_agent_ms, 1741100526884);
  EXPECT_EQ(u.contacts[0].queue_id, "33333333-3333-4333-8333-333333333333");
  EXPECT_EQ(u.next_status, "Lunch");
  EXPECT_EQ(u.effective_state, "OnContact");
  EXPECT_EQ(r->approximate_total_count, 1);
  EXPECT_FALSE(r->next_token);
}

TEST(ConnectGetCurrentUserData, NamesTheContactWithoutState) {
  auto r = parse_get_current_user_data(
    R"({"UserDataList":[{"User":{"Id":"u"},"Status":{"StatusName":"A"},)"
    R"("Contacts":[{"Channel":"VOICE","State":"CONNECTED"}]}]})");

  ASSERT_FALSE(r);
  EXPECT_EQ(r.err().context,
            "UserDataList[0].Contacts[0].AgentContactState: missing");
}

TEST(ConnectGetCurrentUserData, RequiresTheStatus) {
  auto r = parse_get_current_user_data(
    R"({"UserDataList":[{"User":{"Id":"u"},"Contacts":[]}]})");

  ASSERT_FALSE(r);
  EXPECT_EQ(r.err().context, "UserDataList[0].Status: missing");
}

TEST(ConnectResponses, RejectsTruncatedFixtures) {
  for (auto name : {"list-users.json", "describe-user.json",
                    "list-agent-statuses.json", "get-current-user-data.json"}) {
    auto text = read_fixture(name);
    auto half = text.substr(0, text.size() / 2);

    EXPECT_FALSE(parse_list_users(half)) << name;
    EXPECT_FALSE(parse_describe_user(half)) << name;
    EXPECT_FALSE(parse_list_agent_statuses(half)) << name;
    EXPECT_FALSE(parse_get_current_user_data(half)) << name;
  }
}

// -- Requests ----------------------------------------------------------------

TEST(ConnectRequests, PutUserStatusMatchesTheSpecExample) {
  auto r = build_put_user_status(instance_id, jane,
                                 "aaaaaaaa-0000-4000-8000-000000000003");

  EXPECT_EQ(r.method, "PUT");
  EXPECT_EQ(r.path, "/users/" + instance_id + "/" + jane + "/status");
  EXPECT_EQ(r.query, "");
  EXPECT_EQ(header(r, "Content-Type"), "application/json");
  EXPECT_EQ(r.body,
            R"({"AgentStatusId":"aaaaaaaa-0000-4000-8000-000000000003"})");
}

TEST(ConnectRequests, EncodesPathLabels) {
  auto r = build_describe_user("a/b", "c d");

  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.path, "/users/a%2Fb/c%20d");
  EXPECT_TRUE(r.body.empty());
  EXPECT_EQ(header(r, "Content-Type"), "(absent)");
}

TEST(ConnectRequests, ListAgentStatusesRepeatsTheTypeParameter) {
  auto r =
    build_list_agent_statuses(instance_id, {"ROUTABLE", "CUSTOM"}, "", 100);

  EXPECT_EQ(r.path, "/agent-status/" + instance_id);
  EXPECT_EQ(r.query,
            "maxResults=100&AgentStatusTypes=ROUTABLE&AgentStatusTypes=CUSTOM");
}

TEST(ConnectRequests, ListUsersEncodesTheNextToken) {
  auto r = build_list_users(instance_id, "a+b/c=", 1000);

  EXPECT_EQ(r.path, "/users-summary/" + instance_id);
  EXPECT_EQ(r.query, "maxResults=1000&nextToken=a%2Bb%2Fc%3D");
}

TEST(ConnectRequests, GetCurrentUserDataFiltersByAgents) {
  auto r = build_get_current_user_data(instance_id, {jane}, "", 100);

  ASSERT_TRUE(r);
  EXPECT_EQ(r->method, "POST");
  EXPECT_EQ(r->path, "/metrics/userdata/" + instance_id);
  EXPECT_EQ(r->body,
            R"({"Filters":{"Agents":["11111111-1111-4111-8111-111111111111"]},)"
            R"("MaxResults":100})");
}

TEST(ConnectRequests, GetCurrentUserDataRejectsMoreThanHundredAgents) {
  std::vector<std::string> many(101, "u");

  EXPECT_EQ(build_get_current_user_data(instance_id, many).err().code,
            sync_error::rejected);
  EXPECT_FALSE(build_get_current_user_data(instance_id, {}));
}

TEST(ConnectRequests, StartOutboundVoiceContactCarriesTheClientToken) {
  outbound_voice_contact c;
  c.instance_id = instance_id;
  c.contact_flow_id = "99999999-9999-4999-8999-999999999999";
  c.destination_phone_number = "+15555550100";
  c.queue_id = "33333333-3333-4333-8333-333333333334";
  c.attributes = {{"origin", "teams-sync"}};
  c.client_token = "5d1c8f0e-0000-4000-8000-000000000001";

  auto r = build_start_outbound_voice_contact(c);

  ASSERT_TRUE(r);
  EXPECT_EQ(r->method, "PUT");
  EXPECT_EQ(r->path, "/contact/outbound-voice");
  EXPECT_EQ(r->body,
            R"({"InstanceId":"00000000-0000-0000-0000-0000000000aa",)"
            R"("ContactFlowId":"99999999-9999-4999-8999-999999999999",)"
            R"("DestinationPhoneNumber":"+15555550100",)"
            R"("QueueId":"33333333-3333-4333-8333-333333333334",)"
            R"("Attributes":{"origin":"teams-sync"},)"
            R"("ClientToken":"5d1c8f0e-0000-4000-8000-000000000001"})");
}

TEST(ConnectRequests, StartOutboundVoiceContactNeedsExactlyOneCaller) {
  outbound_voice_contact c;
  c.instance_id = instance_id;
  c.contact_flow_id = "f";
  c.destination_phone_number = "+15555550100";
  c.client_token = "t";
  auto neither = build_start_outbound_voice_contact(c);
  c.queue_id = "q";
  c.source_phone_number = "+15555550101";
  auto both = build_start_outbound_voice_contact(c);
  c.queue_id.clear();
  c.client_token.clear();
  auto no_token = build_start_outbound_voice_contact(c);

  EXPECT_EQ(neither.err().context, "StartOutboundVoiceContact: exactly one "
                                   "of SourcePhoneNumber and QueueId needed");
  EXPECT_FALSE(both);
  EXPECT_EQ(no_token.err().context, "StartOutboundVoiceContact: ClientToken "
                                    "must be 1 to 500 characters");
}

TEST(ConnectResponses, ParsesTheNewContactId) {
  EXPECT_EQ(parse_start_outbound_voice_contact(
              R"({"ContactId":"44444444-4444-4444-8444-444444444445"})")
              .value(),
            "44444444-4444-4444-8444-444444444445");
  EXPECT_FALSE(parse_start_outbound_voice_contact("{}"));
}

// -- Errors ------------------------------------------------------------------

TEST(ConnectErrors, MapsTheThrottlingFixtureToThrottled) {
  simdjson::dom::parser parser;
  simdjson::dom::element fixture =
    parser.parse(read_fixture("error-throttling.json"));
  std::vector<presync::aws::http_header> headers;
  for (auto [name, value] : fixture["headers"].get_object()) {
    std::string_view text = value.get_string();
    headers.push_back({std::string{name}, std::string{text}});
  }
  auto status = static_cast<int>(fixture["status"].get_int64());
  auto body = simdjson::minify(fixture["body"]);

  auto e = parse_error("PutUserStatus", status, headers, body);

  EXPECT_EQ(e.type, "ThrottlingException");
  EXPECT_EQ(e.message, "Rate exceeded");
  EXPECT_EQ(e.err.code, sync_error::throttled);
  EXPECT_EQ(presync::classify(e.err.code), presync::error_class::retry_later);
  EXPECT_EQ(e.err.http_status, 429);
  EXPECT_EQ(e.err.request_id, "9a1b2c3d-0000-4000-8000-00000000beef");
  EXPECT_EQ(e.err.context, "connect PutUserStatus: ThrottlingException");
}

TEST(ConnectErrors, StripsPrefixAndSuffixOfTheErrorType) {
  auto e = parse_error(
    "DescribeUser", 404,
    {{"x-amzn-ErrorType",
      "aws.connect#ResourceNotFoundException:http://internal.amazon.com/"}},
    R"({"message":"User not found"})");

  EXPECT_EQ(e.type, "ResourceNotFoundException");
  EXPECT_EQ(e.message, "User not found");
  EXPECT_EQ(e.err.code, sync_error::not_found);
}

TEST(ConnectErrors, MapsTheDocumentedCodes) {
  auto code = [](std::string type, int status) {
    return parse_error("Op", status, {{"x-amzn-ErrorType", type}}, "{}")
      .err.code;
  };

  EXPECT_EQ(code("AccessDeniedException", 403), sync_error::forbidden);
  EXPECT_EQ(code("TooManyRequestsException", 429), sync_error::throttled);
  EXPECT_EQ(code("LimitExceededException", 429), sync_error::throttled);
  EXPECT_EQ(code("ThrottlingException", 400), sync_error::throttled);
  EXPECT_EQ(code("InternalServiceException", 500), sync_error::unavailable);
  EXPECT_EQ(code("ServiceUnavailable", 503), sync_error::unavailable);
  EXPECT_EQ(code("InvalidRequestException", 400), sync_error::rejected);
  EXPECT_EQ(code("InvalidParameterException", 400), sync_error::rejected);
  EXPECT_EQ(code("ServiceQuotaExceededException", 402), sync_error::rejected);
  EXPECT_EQ(code("RequestExpired", 400), sync_error::rejected);
  EXPECT_EQ(code("InvalidClientTokenId", 403), sync_error::unauthorized);
  EXPECT_EQ(code("DestinationNotAllowedException", 403), sync_error::forbidden);
}

TEST(ConnectErrors, UsesTheHttpStatusWithoutAnErrorType) {
  EXPECT_EQ(parse_error("Op", 429, {}, "").err.code, sync_error::throttled);
  EXPECT_EQ(parse_error("Op", 502, {}, "").err.code, sync_error::unavailable);
  EXPECT_EQ(parse_error("Op", 404, {}, "").err.code, sync_error::not_found);
  EXPECT_EQ(parse_error("Op", 403, {}, "").err.code, sync_error::forbidden);
}

TEST(ConnectErrors, ReadsTheTypeFromTheBodyAndRetryAfter) {
  auto e = parse_error("Op", 429, {{"Retry-After", "3"}},
                       R"({"__type":"TooManyRequestsException"})");

  EXPECT_EQ(e.type, "TooManyRequestsException");
  EXPECT_EQ(e.err.retry_after, std::chrono::seconds{3});
}
