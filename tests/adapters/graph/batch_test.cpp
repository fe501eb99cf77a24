#include "adapters/graph/batch.hpp"
#include "adapters/graph/errors.hpp"

#include "fixture.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>

namespace presync::graph {
namespace {

using testing::fixture;
using namespace std::chrono_literals;

constexpr std::string_view app_id = "00000000-0000-0000-0000-0000000000b1";

session_settings session() {
  return {std::string{app_id}, 1h};
}

std::string user(int n) {
  return "00000000-0000-0000-0000-00000000000" + std::to_string(n);
}

// Re-serialises JSON in simdjson's minified form so layouts compare.
std::string minify(const std::string& json) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (auto ec = parser.parse(json).get(doc)) {
    ADD_FAILURE() << simdjson::error_message(ec);
    return {};
  }
  return simdjson::minify(doc);
}

TEST(IsoDuration, FormatsHoursMinutesSeconds) {
  EXPECT_EQ(iso8601_duration(1h), "PT1H");
  EXPECT_EQ(iso8601_duration(5min), "PT5M");
  EXPECT_EQ(iso8601_duration(90min), "PT1H30M");
  EXPECT_EQ(iso8601_duration(90s), "PT1M30S");
  EXPECT_EQ(iso8601_duration(4h), "PT4H");
  EXPECT_EQ(iso8601_duration(0s), "PT0S");
}

TEST(SetPresence, BodyCarriesSessionValueAndExpiry) {
  auto body = set_presence_body({"Busy", "InACall"}, session());

  ASSERT_TRUE(body) << body.err().describe();
  EXPECT_EQ(*body, R"({"sessionId":"00000000-0000-0000-0000-0000000000b1",)"
                   R"("availability":"Busy","activity":"InACall",)"
                   R"("expirationDuration":"PT1H"})");
}

TEST(SetPresence, UnpublishablePairIsRejected) {
  auto body = set_presence_body({"Busy", "InAMeeting"}, session());

  ASSERT_FALSE(body);
  EXPECT_EQ(body.err().code, sync_error::rejected);
  EXPECT_EQ(body.err().context,
            "setPresence: Busy/InAMeeting is not a pair setPresence accepts");
}

TEST(SetPresence, TtlOutsideFiveMinutesToFourHoursIsConfigInvalid) {
  auto s = session();
  s.session_ttl = 5h;

  auto body = set_presence_body({"Busy", "InACall"}, s);

  ASSERT_FALSE(body);
  EXPECT_EQ(body.err().code, sync_error::config_invalid);
  EXPECT_EQ(body.err().context,
            "setPresence: teams_session_ttl 5h is outside 5m-4h");
}

TEST(WriteRequest, ClearPostsSessionIdToClearPresence) {
  endpoints where;
  where.graph = "https://127.0.0.1:2";

  auto req =
    build_write_request(where, {user(3), teams_target::clear()}, session());

  ASSERT_TRUE(req) << req.err().describe();
  EXPECT_EQ(req->url, "https://127.0.0.1:2/v1.0/users/" + user(3) +
                        "/presence/clearPresence");
  EXPECT_EQ(req->body,
            R"({"sessionId":"00000000-0000-0000-0000-0000000000b1"})");
}

TEST(WriteBatch, MatchesTheFixtureShapeForItsWrites) {
  std::vector<presence_write> writes = {
    {user(1), teams_target::of({"Busy", "InACall"})},
    {user(2), teams_target::of({"Available", "Available"})},
    {user(3), teams_target::clear()},
  };
  // The fixture's fourth request is a presence GET, which presync does not
  // batch (spec §6.3); compare the first three.
  auto expected_text = fixture("batch-request.json");
  auto cut = expected_text.find(",\n    {\n      \"id\": \"4\"");
  ASSERT_NE(cut, std::string::npos);
  expected_text = expected_text.substr(0, cut) + "]}";

  auto req = build_write_batch(endpoints{}, writes, session());

  ASSERT_TRUE(req) << req.err().describe();
  EXPECT_EQ(req->url, "https://graph.microsoft.com/v1.0/$batch");
  EXPECT_EQ(minify(req->body), minify(expected_text));
}

TEST(WriteBatch, MoreThanTwentyWritesAreRejected) {
  std::vector<presence_write> writes(21, {user(1), teams_target::clear()});

  auto body = build_write_batch_body(writes, session());

  ASSERT_FALSE(body);
  EXPECT_EQ(body.err().context, "$batch: 21 writes, 1-20 allowed");
  writes.pop_back();
  EXPECT_TRUE(build_write_batch_body(writes, session()));
}

TEST(WriteBatch, BadWriteNamesItsPosition) {
  std::vector<presence_write> writes = {
    {user(1), teams_target::clear()},
    {user(2), teams_target::of({"Away", "Busy"})},
  };

  auto body = build_write_batch_body(writes, session());

  ASSERT_FALSE(body);
  EXPECT_EQ(body.err().context, "$batch request 2: setPresence: Away/Busy is "
                                "not a pair setPresence accepts");
}

TEST(BatchResponse, FixtureOutcomesInRequestOrder) {
  std::vector<presence_write> writes = {
    {user(1), teams_target::of({"Busy", "InACall"})},
    {user(2), teams_target::of({"Available", "Available"})},
    {user(3), teams_target::clear()},
    {user(4), teams_target::of({"Away", "Away"})},
  };

  auto r = parse_write_batch_response(fixture("batch-response.json"), writes);

  ASSERT_TRUE(r) << r.err().describe();
  ASSERT_EQ(r->size(), 4u);
  EXPECT_EQ((*r)[0].result, write_outcome::kind::throttled);
  EXPECT_EQ((*r)[0].http_status, 429);
  EXPECT_EQ((*r)[0].retry_after, 2500ms);
  EXPECT_EQ((*r)[0].reason, "HTTP 429 TooManyRequests");
  EXPECT_EQ((*r)[1].result, write_outcome::kind::ok);
  EXPECT_EQ((*r)[1].http_status, 200);
  EXPECT_EQ((*r)[2].result, write_outcome::kind::ok);
  EXPECT_EQ((*r)[2].http_status, 404);
  EXPECT_EQ((*r)[2].reason, "no session to clear");
  EXPECT_EQ((*r)[3].result, write_outcome::kind::ok);
}

TEST(BatchResponse, NotFoundOnSetPresenceFails) {
  std::vector<presence_write> writes = {
    {user(1), teams_target::of({"Busy", "InACall"})}};

  auto r = parse_write_batch_response(
    R"({"responses":[{"id":"1","status":404,"body":{"error":)"
    R"({"code":"NotFound","message":"x"}}}]})",
    writes);

  ASSERT_TRUE(r) << r.err().describe();
  EXPECT_EQ((*r)[0].result, write_outcome::kind::failed);
  EXPECT_EQ((*r)[0].reason, "HTTP 404 NotFound");
}

TEST(BatchResponse, ServerErrorIsThrottledAndMissingResponseFailed) {
  std::vector<presence_write> writes = {{user(1), teams_target::clear()},
                                        {user(2), teams_target::clear()}};

  auto r = parse_write_batch_response(
    R"({"responses":[{"id":"1","status":503,"headers":{"retry-after":"3"}}]})",
    writes);

  ASSERT_TRUE(r) << r.err().describe();
  EXPECT_EQ((*r)[0].result, write_outcome::kind::throttled);
  EXPECT_EQ((*r)[0].retry_after, 3000ms);
  EXPECT_EQ((*r)[1].result, write_outcome::kind::failed);
  EXPECT_EQ((*r)[1].reason, "no response in batch");
}

TEST(BatchResponse, MalformedInputsNameTheField) {
  std::vector<presence_write> writes = {{user(1), teams_target::clear()}};
  const std::pair<std::string_view, std::string_view> rows[] = {
    {R"({"responses":[{"id":"1"}]})",
     "batch response: responses[0].status: missing"},
    {R"({"responses":[{"status":200}]})",
     "batch response: responses[0].id: missing"},
    {R"({"responses":[{"id":"9","status":200}]})",
     "batch response: responses[0].id: does not name a request of this "
     "batch"},
    {R"({"responses":[{"id":"1","status":"200"}]})",
     "batch response: responses[0].status: expected an integer"},
    {R"({"responses":{}})", "batch response: responses: expected an array"},
    {R"({"value":[]})", "batch response: responses: missing"},
    {R"({"responses":[{"id":"1","status":429,"headers":)"
     R"({"Retry-After":"soon"}}]})",
     "batch response: responses[0].headers.Retry-After: not seconds or an "
     "HTTP date"},
  };

  for (const auto& [json, context] : rows) {
    auto r = parse_write_batch_response(json, writes);

    ASSERT_FALSE(r) << json;
    EXPECT_EQ(r.err().code, sync_error::malformed);
    EXPECT_EQ(r.err().context, context);
  }
}

TEST(BatchResponse, TruncatedFixtureIsMalformed) {
  std::vector<presence_write> writes = {{user(1), teams_target::clear()}};
  auto text = fixture("batch-response.json");

  auto r = parse_write_batch_response(text.substr(0, 900), writes);

  ASSERT_FALSE(r);
  EXPECT_EQ(r.err().code, sync_error::malformed);
}

TEST(GraphError, FixtureBodyGivesCodeAndRequestId) {
  auto body = parse_graph_error(fixture("error-429.json"));

  ASSERT_TRUE(body) << body.err().describe();
  EXPECT_EQ(body->code, "TooManyRequests");
  EXPECT_EQ(body->message, "Please retry again later.");
  EXPECT_EQ(body->request_id, "00000000-0000-0000-0000-0000000000d3");
  EXPECT_EQ(body->date, "2026-01-01T10:15:42");
}

TEST(GraphError, ResponseWithFractionalRetryAfterIsThrottled) {
  http::http_response response;
  response.status = 429;
  response.headers.add("Retry-After", "2.128");
  response.body = fixture("error-429.json");

  auto e = from_graph_response(response, "getPresencesByUserId");

  EXPECT_EQ(e.code, sync_error::throttled);
  EXPECT_EQ(e.retry_after, 2128ms);
  EXPECT_EQ(e.http_status, 429);
  EXPECT_EQ(e.request_id, "00000000-0000-0000-0000-0000000000d3");
  EXPECT_EQ(e.context, "getPresencesByUserId: TooManyRequests");
}

TEST(GraphError, MissingCodeNamesTheField) {
  auto body = parse_graph_error(R"({"error":{"message":"x"}})");

  ASSERT_FALSE(body);
  EXPECT_EQ(body.err().context, "graph error: error.code: missing");
}

TEST(GraphError, WrongTypeOfErrorNamesIt) {
  auto body = parse_graph_error(R"({"error":"bad"})");

  ASSERT_FALSE(body);
  EXPECT_EQ(body.err().context, "graph error: error: expected an object");
}

} // namespace
} // namespace presync::graph
