#include "adapters/graph/presence.hpp"

#include "fixture.hpp"

#include <gtest/gtest.h>

namespace presync::graph {
namespace {

using testing::fixture;
using namespace std::chrono_literals;

std::vector<std::string> make_ids(size_t n) {
  std::vector<std::string> ids;
  for (size_t i = 0; i < n; ++i) {
    ids.push_back("id-" + std::to_string(i));
  }
  return ids;
}

TEST(PresenceRequest, DeduplicatesIdsCaseInsensitively) {
  std::vector<std::string> ids = {"aa-1", "bb-2", "AA-1", "cc\"3"};
  endpoints where;
  where.graph = "https://127.0.0.1:1";

  auto req = build_presence_request(where, ids);

  ASSERT_TRUE(req) << req.err().describe();
  EXPECT_EQ(req->method, "POST");
  EXPECT_EQ(req->url,
            "https://127.0.0.1:1/v1.0/communications/getPresencesByUserId");
  EXPECT_EQ(req->headers.find("Content-Type"), "application/json");
  EXPECT_EQ(req->body, R"({"ids":["aa-1","bb-2","cc\"3"]})");
}

TEST(PresenceRequest, SixHundredFiftyIdsFitMoreDoNot) {
  auto ids = make_ids(651);

  auto too_many = build_presence_body(ids);
  ids.pop_back();
  auto fits = build_presence_body(ids);

  ASSERT_FALSE(too_many);
  EXPECT_EQ(too_many.err().context, "getPresencesByUserId: 651 distinct ids, "
                                    "at most 650 allowed");
  ASSERT_TRUE(fits);
  EXPECT_EQ(std::count(fits->begin(), fits->end(), ','), 649);
}

TEST(PresenceRequest, EmptyListIsRejected) {
  auto body = build_presence_body({});

  ASSERT_FALSE(body);
  EXPECT_EQ(body.err().code, sync_error::rejected);
}

TEST(PresenceResponse, FixtureGivesFourUsersWithExactValues) {
  auto r = parse_presence_response(fixture("presence-batch-response.json"));

  ASSERT_TRUE(r) << r.err().describe();
  ASSERT_EQ(r->size(), 4u);
  const auto& v = *r;
  EXPECT_EQ(v[0].id, "00000000-0000-0000-0000-000000000001");
  EXPECT_EQ(v[0].value, (presence{"Busy", "InACall"}));
  EXPECT_EQ(v[0].sequence_number, "C0000000000000000001");
  EXPECT_FALSE(v[0].out_of_office);
  EXPECT_EQ(v[0].status_message, std::nullopt);
  EXPECT_EQ(v[1].value, (presence{"Away", "Away"}));
  EXPECT_EQ(v[1].status_message, "Back at 14:00");
  EXPECT_EQ(v[2].value, (presence{"Available", "OutOfOffice"}));
  EXPECT_TRUE(v[2].out_of_office);
  EXPECT_EQ(v[3].id, "00000000-0000-0000-0000-000000000005");
  EXPECT_EQ(v[3].value, (presence{"PresenceUnknown", "PresenceUnknown"}));
  EXPECT_EQ(v[3].sequence_number, std::nullopt);
}

TEST(PresenceResponse, CamelCaseValuesAreFoldedAndUnknownKeptRaw) {
  auto r = parse_presence_response(
    R"({"value":[{"id":"a","availability":"doNotDisturb",)"
    R"("activity":"presenting","workLocation":{"x":1}},)"
    R"({"id":"b","availability":"Focusing","activity":"Focusing"}]})");

  ASSERT_TRUE(r) << r.err().describe();
  EXPECT_EQ((*r)[0].value, (presence{"DoNotDisturb", "Presenting"}));
  EXPECT_EQ((*r)[0].raw, (presence{"doNotDisturb", "presenting"}));
  EXPECT_EQ((*r)[1].value, (presence{"Focusing", "Focusing"}));
}

TEST(PresenceResponse, SinglePresenceObjectParses) {
  auto r = parse_presence_object(
    R"({"id":"00000000-0000-0000-0000-000000000001",
        "availability":"DoNotDisturb","activity":"Presenting",
        "statusMessage":null,
        "outOfOfficeSettings":{"message":null,"isOutOfOffice":false}})");

  ASSERT_TRUE(r) << r.err().describe();
  EXPECT_EQ(r->value, (presence{"DoNotDisturb", "Presenting"}));
}

TEST(PresenceResponse, MissingActivityNamesTheEntry) {
  auto r =
    parse_presence_response(R"({"value":[{"id":"a","availability":"Busy"}]})");

  ASSERT_FALSE(r);
  EXPECT_EQ(r.err().context, "presence response: value[0].activity: missing");
}

TEST(PresenceResponse, WrongTypeNamesTheField) {
  auto r = parse_presence_response(
    R"({"value":[{"id":"a","availability":3,"activity":"Busy"}]})");

  ASSERT_FALSE(r);
  EXPECT_EQ(r.err().context,
            "presence response: value[0].availability: expected a string");
}

TEST(PresenceResponse, WrongOutOfOfficeTypeNamesTheField) {
  auto r = parse_presence_response(
    R"({"value":[{"id":"a","availability":"Busy","activity":"Busy",)"
    R"("outOfOfficeSettings":{"isOutOfOffice":"no"}}]})");

  ASSERT_FALSE(r);
  EXPECT_EQ(r.err().context, "presence response: value[0]."
                             "outOfOfficeSettings.isOutOfOffice: expected "
                             "true or false");
}

TEST(PresenceResponse, TruncatedFixtureIsMalformed) {
  auto text = fixture("presence-batch-response.json");

  auto r = parse_presence_response(text.substr(0, 400));

  ASSERT_FALSE(r);
  EXPECT_EQ(r.err().code, sync_error::malformed);
}

TEST(PresenceResponse, MissingValueNamesIt) {
  auto r = parse_presence_response(R"({"values":[]})");

  ASSERT_FALSE(r);
  EXPECT_EQ(r.err().context, "presence response: value: missing");
}

TEST(PollPlanner, SplitsIntoCeilingBatchesSpreadOverTheInterval) {
  poll_planner planner{30s};
  auto ids = make_ids(1301);

  auto plan = planner.plan(ids);

  ASSERT_EQ(plan.size(), 3u);
  EXPECT_EQ(plan[0].ids.size(), 434u);
  EXPECT_EQ(plan[1].ids.size(), 434u);
  EXPECT_EQ(plan[2].ids.size(), 433u);
  EXPECT_EQ(plan[0].offset, 0ms);
  EXPECT_EQ(plan[1].offset, 10000ms);
  EXPECT_EQ(plan[2].offset, 20000ms);
  EXPECT_EQ(plan[0].ids.front(), "id-0");
  EXPECT_EQ(plan[2].ids.back(), "id-1300");
}

TEST(PollPlanner, ExactlyOneFullBatchStartsAtZero) {
  poll_planner planner{5s};

  auto plan = planner.plan(make_ids(650));

  ASSERT_EQ(plan.size(), 1u);
  EXPECT_EQ(plan[0].ids.size(), 650u);
  EXPECT_EQ(plan[0].offset, 0ms);
}

TEST(PollPlanner, DuplicatesAreDroppedBeforePlanning) {
  poll_planner planner{5s, 2};
  std::vector<std::string> ids = {"a", "b", "A", "c"};

  auto plan = planner.plan(ids);

  ASSERT_EQ(plan.size(), 2u);
  EXPECT_EQ(plan[0].ids, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(plan[1].ids, (std::vector<std::string>{"c"}));
  EXPECT_EQ(plan[1].offset, 2500ms);
  EXPECT_TRUE(planner.plan({}).empty());
}

} // namespace
} // namespace presync::graph
