// In-process tests of the Graph emulator's request handling: every rule of
// spec/graph.md it emulates, driven through service::handle with the
// emulator clock advanced by the control API (no sockets, no sleeps).

#include "emulators/graph/service.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

using namespace presync::graph_emulator;

constexpr const char* tenant = "00000000-0000-0000-0000-0000000000a1";
constexpr const char* app = "00000000-0000-0000-0000-0000000000b1";
constexpr const char* secret = "s3cret-value";
constexpr const char* base = "http://127.0.0.1:4000";
constexpr const char* user1 = "00000000-0000-0000-0000-000000000001";
constexpr const char* user2 = "00000000-0000-0000-0000-000000000002";

constexpr long long minute = 60 * 1000;

std::string read_fixture(const std::string& name) {
  std::ifstream in{std::string{PRESYNC_SHARED_DIR} + "/fixtures/graph/" + name};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class GraphEmulator : public ::testing::Test {
 protected:
  GraphEmulator() : svc_(make_options()) { svc_.set_base_url(base); }

  static service_options make_options() {
    service_options o;
    o.users = 7; // plus three that filters must drop: ten in all
    o.real_time_clock = false;
    o.client_secret = secret;
    return o;
  }

  http_response call(const std::string& method, const std::string& target,
                     const std::string& body = "", bool auth = true) {
    http_request r;
    r.method = method;
    r.target = target;
    r.body = body;
    if (!body.empty()) {
      r.headers["content-type"] = "application/json";
    }
    if (auth && target.rfind("/v1.0/", 0) == 0) {
      r.headers["authorization"] = "Bearer " + token();
    }
    return svc_.handle(r);
  }

  http_response request_token(const std::string& form) {
    http_request r;
    r.method = "POST";
    r.target = std::string{"/"} + tenant + "/oauth2/v2.0/token";
    r.headers["content-type"] = "application/x-www-form-urlencoded";
    r.body = form;
    return svc_.handle(r);
  }

  static std::string token_form(const std::string& s) {
    return std::string{"client_id="} + app + "&client_secret=" + s +
           "&grant_type=client_credentials"
           "&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default";
  }

  const std::string& token() {
    if (token_.empty()) {
      auto r = request_token(token_form(secret));
      token_ = std::string{json(r.body)["access_token"].get_string().value()};
    }
    return token_;
  }

  simdjson::dom::element json(const std::string& text) {
    parsers_.push_back(std::make_unique<simdjson::dom::parser>());
    simdjson::dom::element e;
    auto err = parsers_.back()->parse(text).get(e);
    EXPECT_EQ(err, simdjson::SUCCESS) << "not JSON: " << text;
    return e;
  }

  // Copies the array out, so range-for does not iterate a dead temporary.
  static simdjson::dom::array items(simdjson::dom::element e) {
    simdjson::dom::array a;
    EXPECT_EQ(e.get_array().get(a), simdjson::SUCCESS);
    return a;
  }

  static std::string str(simdjson::dom::element e) {
    std::string_view sv;
    if (e.get_string().get(sv) != simdjson::SUCCESS) {
      return "<not a string>";
    }
    return std::string{sv};
  }

  void advance(long long ms) {
    auto r = call("POST", "/_control/clock/advance",
                  "{\"ms\":" + std::to_string(ms) + "}");
    ASSERT_EQ(r.status, 200) << r.body;
  }

  std::string presence_of(const std::string& id) {
    auto r = call("GET", "/v1.0/users/" + id + "/presence");
    EXPECT_EQ(r.status, 200) << r.body;
    auto p = json(r.body);
    return str(p["availability"]) + "/" + str(p["activity"]);
  }

  http_response set_presence(const std::string& id, const std::string& av,
                             const std::string& act,
                             const std::string& expiry = "PT1H",
                             const std::string& session = app) {
    return call("POST", "/v1.0/users/" + id + "/presence/setPresence",
                "{\"sessionId\":\"" + session + "\",\"availability\":\"" + av +
                  "\",\"activity\":\"" + act + "\",\"expirationDuration\":\"" +
                  expiry + "\"}");
  }

  void knobs(const std::string& body) {
    auto r = call("POST", "/_control/knobs", body);
    ASSERT_EQ(r.status, 200) << r.body;
  }

  service svc_;
  std::string token_;
  std::vector<std::unique_ptr<simdjson::dom::parser>> parsers_;
};

// -- tokens -------------------------------------------------------------

TEST_F(GraphEmulator, TokenFlowIssuesBearerTokenThatGraphAccepts) {
  auto r = request_token(token_form(secret));

  ASSERT_EQ(r.status, 200) << r.body;
  auto doc = json(r.body);
  EXPECT_EQ(str(doc["token_type"]), "Bearer");
  EXPECT_EQ(doc["expires_in"].get_int64().value(), 3599);
  std::string tok = str(doc["access_token"]);
  http_request g;
  g.method = "GET";
  g.target = "/v1.0/users";
  g.headers["authorization"] = "Bearer " + tok;
  EXPECT_EQ(svc_.handle(g).status, 200);
}

TEST_F(GraphEmulator, WrongSecretGivesInvalidClientWithoutEchoingIt) {
  auto r = request_token(token_form("not-the-secret"));

  EXPECT_EQ(r.status, 401);
  auto doc = json(r.body);
  EXPECT_EQ(str(doc["error"]), "invalid_client");
  EXPECT_EQ(doc["error_codes"].at(0).get_int64().value(), 7000215);
  EXPECT_EQ(str(doc["error_description"]).rfind("AADSTS7000215:", 0), 0u);
  EXPECT_EQ(r.body.find("not-the-secret"), std::string::npos);
}

TEST_F(GraphEmulator, SecretInHttpBasicIsAccepted) {
  http_request r;
  r.method = "POST";
  r.target = std::string{"/"} + tenant + "/oauth2/v2.0/token";
  // base64("00000000-0000-0000-0000-0000000000b1:s3cret-value")
  r.headers["authorization"] = "Basic MDAwMDAwMDAtMDAwMC0wMDAwLTAwMDAtMDAw"
                               "MDAwMDAwMGIxOnMzY3JldC12YWx1ZQ==";
  r.body = "grant_type=client_credentials"
           "&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default";

  EXPECT_EQ(svc_.handle(r).status, 200);
}

TEST_F(GraphEmulator, ExpiredSecretKnobGivesAadsts7000222) {
  knobs("{\"secretExpired\":true}");

  auto r = request_token(token_form(secret));

  EXPECT_EQ(r.status, 401);
  auto doc = json(r.body);
  EXPECT_EQ(str(doc["error"]), "invalid_client");
  EXPECT_EQ(doc["error_codes"].at(0).get_int64().value(), 7000222);
}

TEST_F(GraphEmulator, MissingSecretAndUnknownClientHaveTheirOwnCodes) {
  auto none = request_token(std::string{"client_id="} + app +
                            "&grant_type=client_credentials&scope="
                            "https%3A%2F%2Fgraph.microsoft.com%2F.default");
  auto stranger = request_token(
    "client_id=00000000-0000-0000-0000-0000000000ff&client_secret=x"
    "&grant_type=client_credentials"
    "&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default");

  EXPECT_EQ(json(none.body)["error_codes"].at(0).get_int64().value(), 7000218);
  EXPECT_EQ(str(json(stranger.body)["error"]), "unauthorized_client");
  EXPECT_EQ(json(stranger.body)["error_codes"].at(0).get_int64().value(),
            700016);
}

TEST_F(GraphEmulator, TokenEndpointDownKnobGives503) {
  knobs("{\"tokenEndpointDown\":true}");

  auto r = request_token(token_form(secret));

  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(str(json(r.body)["error"]), "temporarily_unavailable");
}

TEST_F(GraphEmulator, GraphRejectsMissingUnknownAndExpiredTokens) {
  auto missing = call("GET", "/v1.0/users", "", false);
  http_request bogus;
  bogus.method = "GET";
  bogus.target = "/v1.0/users";
  bogus.headers["authorization"] = "Bearer nonsense";
  auto unknown = svc_.handle(bogus);
  token();
  advance(3600 * 1000);
  auto expired = call("GET", "/v1.0/users");

  EXPECT_EQ(missing.status, 401);
  EXPECT_EQ(str(json(missing.body)["error"]["code"]),
            "InvalidAuthenticationToken");
  EXPECT_EQ(unknown.status, 401);
  EXPECT_EQ(expired.status, 401);
}

TEST_F(GraphEmulator, DiscoveryDocumentsPointAtTheEmulator) {
  auto oidc = call("GET", std::string{"/"} + tenant +
                            "/v2.0/.well-known/openid-configuration");
  auto instance = call("GET", "/common/discovery/instance?api-version=1.1");

  ASSERT_EQ(oidc.status, 200);
  EXPECT_EQ(str(json(oidc.body)["token_endpoint"]),
            std::string{base} + "/" + tenant + "/oauth2/v2.0/token");
  EXPECT_EQ(str(json(oidc.body)["issuer"]),
            std::string{base} + "/" + tenant + "/v2.0");
  ASSERT_EQ(instance.status, 200);
  EXPECT_EQ(str(json(instance.body)["metadata"].at(0)["preferred_network"]),
            "127.0.0.1:4000");
}

// -- users --------------------------------------------------------------

TEST_F(GraphEmulator, PagingWalksEveryUserOnce) {
  std::set<std::string> ids;
  std::string next = "/v1.0/users?$top=3";
  int pages = 0;

  while (!next.empty() && pages < 20) {
    auto r = call("GET", next);
    ASSERT_EQ(r.status, 200) << r.body;
    auto doc = json(r.body);
    for (auto u : items(doc["value"])) {
      EXPECT_TRUE(ids.insert(str(u["id"])).second);
    }
    ++pages;
    std::string_view link;
    if (doc["@odata.nextLink"].get_string().get(link) == simdjson::SUCCESS) {
      ASSERT_EQ(link.rfind(base, 0), 0u) << link;
      next = std::string{link.substr(std::string_view{base}.size())};
    } else {
      next.clear();
    }
  }

  EXPECT_EQ(ids.size(), 10u);
  EXPECT_EQ(pages, 4);
}

TEST_F(GraphEmulator, TopOutsideOneTo999IsRejected) {
  EXPECT_EQ(call("GET", "/v1.0/users?$top=1000").status, 400);
  EXPECT_EQ(call("GET", "/v1.0/users?$top=0").status, 400);
  EXPECT_EQ(call("GET", "/v1.0/users?$top=999").status, 200);
}

TEST_F(GraphEmulator, SelectReturnsLicenceFieldsThatFiltersNeed) {
  auto plain = json(call("GET", "/v1.0/users?$top=1").body);
  auto r = call("GET", "/v1.0/users?$select=id,accountEnabled,"
                       "assignedPlans,assignedLicenses,userType");
  ASSERT_EQ(r.status, 200) << r.body;
  auto doc = json(r.body);

  simdjson::dom::element ignored;
  EXPECT_NE(plain["value"].at(0)["accountEnabled"].get(ignored),
            simdjson::SUCCESS);
  int enabled_teams = 0;
  int disabled = 0;
  int plan_disabled = 0;
  for (auto u : items(doc["value"])) {
    bool on = u["accountEnabled"].get_bool().value();
    disabled += on ? 0 : 1;
    for (auto p : items(u["assignedPlans"])) {
      if (str(p["servicePlanId"]) == teams1_plan_id && on &&
          str(p["capabilityStatus"]) == "Enabled") {
        ++enabled_teams;
      }
    }
    for (auto l : items(u["assignedLicenses"])) {
      for (auto d : items(l["disabledPlans"])) {
        plan_disabled += str(d) == teams1_plan_id ? 1 : 0;
      }
    }
  }
  EXPECT_EQ(enabled_teams, 7);
  EXPECT_EQ(disabled, 1);
  EXPECT_EQ(plan_disabled, 1);
}

TEST_F(GraphEmulator, UnknownSelectPropertyIsNamedInTheError) {
  auto r = call("GET", "/v1.0/users?$select=id,shoeSize");

  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("shoeSize"), std::string::npos);
}

TEST_F(GraphEmulator, DeltaShowsCreatedAndRemovedUsers) {
  std::string link;
  std::string next = "/v1.0/users/delta?$select=id,displayName";
  int initial = 0;
  while (link.empty()) {
    auto doc = json(call("GET", next).body);
    initial += static_cast<int>(doc["value"].get_array().size());
    std::string_view sv;
    if (doc["@odata.deltaLink"].get_string().get(sv) == simdjson::SUCCESS) {
      link = std::string{sv.substr(std::string_view{base}.size())};
    } else {
      next = std::string{
        str(doc["@odata.nextLink"]).substr(std::string_view{base}.size())};
    }
  }
  auto created = call("POST", "/_control/users",
                      "{\"id\":\"00000000-0000-0000-0000-000000000777\","
                      "\"displayName\":\"New Person\"}");
  ASSERT_EQ(created.status, 201) << created.body;
  ASSERT_EQ(call("DELETE", std::string{"/_control/users/"} + user2).status,
            204);
  ASSERT_EQ(
    call("DELETE", std::string{"/_control/users/"} + user1 + "?permanent=true")
      .status,
    204);

  auto r = call("GET", link);

  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(initial, 10);
  auto doc = json(r.body);
  std::map<std::string, std::string> seen;
  for (auto u : items(doc["value"])) {
    simdjson::dom::element removed;
    if (u["@removed"].get(removed) == simdjson::SUCCESS) {
      seen[str(u["id"])] = "removed:" + str(removed["reason"]);
    } else {
      seen[str(u["id"])] = str(u["displayName"]);
    }
  }
  EXPECT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen["00000000-0000-0000-0000-000000000777"], "New Person");
  EXPECT_EQ(seen[user2], "removed:changed");
  EXPECT_EQ(seen[user1], "removed:deleted");
  std::string_view again;
  EXPECT_EQ(doc["@odata.deltaLink"].get_string().get(again), simdjson::SUCCESS);
  auto quiet = json(
    call("GET", std::string{again.substr(std::string_view{base}.size())}).body);
  EXPECT_EQ(quiet["value"].get_array().size(), 0u);
}

TEST_F(GraphEmulator, DeltaLinkOlderThanSevenDaysAsksForAFullRound) {
  auto doc = json(call("GET", "/v1.0/users/delta?$select=id").body);
  std::string link{
    str(doc["@odata.deltaLink"]).substr(std::string_view{base}.size())};

  advance(8LL * 24 * 3600 * 1000);
  token_.clear();
  auto r = call("GET", link);

  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(str(json(r.body)["error"]["code"]), "syncStateNotFound");
}

// -- presence -------------------------------------------------------------

TEST_F(GraphEmulator, SetPresenceShowsInEveryReadWithRisingSequence) {
  auto before =
    json(call("GET", std::string{"/v1.0/users/"} + user1 + "/presence").body);
  std::string seq0 = str(before["sequenceNumber"]);

  ASSERT_EQ(set_presence(user1, "Busy", "InACall").status, 200);

  auto one = json(
    call("GET", std::string{"/v1.0/communications/presences/"} + user1).body);
  EXPECT_EQ(str(before["availability"]), "Offline");
  EXPECT_EQ(str(one["availability"]), "Busy");
  EXPECT_EQ(str(one["activity"]), "InACall");
  EXPECT_GT(str(one["sequenceNumber"]), seq0);
}

TEST_F(GraphEmulator, SetPresenceValidatesPairSessionAndExpiry) {
  EXPECT_EQ(set_presence(user1, "Busy", "Busy").status, 400);
  EXPECT_EQ(set_presence(user1, "Away", "InACall").status, 400);
  EXPECT_EQ(set_presence(user1, "Busy", "InACall", "PT4M").status, 400);
  EXPECT_EQ(set_presence(user1, "Busy", "InACall", "PT4H1M").status, 400);
  EXPECT_EQ(set_presence(user1, "Busy", "InACall", "soon").status, 400);
  EXPECT_EQ(set_presence(user1, "Busy", "InACall", "PT1H",
                         "00000000-0000-0000-0000-0000000000ff")
              .status,
            400);
  EXPECT_EQ(set_presence(user1, "Busy", "InACall", "PT4H").status, 200);
  EXPECT_EQ(set_presence(user1, "DoNotDisturb", "Presenting", "PT5M").status,
            200);
  EXPECT_EQ(
    set_presence("00000000-0000-0000-0000-000000000999", "Busy", "InACall")
      .status,
    404);
}

TEST_F(GraphEmulator, SetPresenceWithoutJsonContentTypeIsRejected) {
  http_request r;
  r.method = "POST";
  r.target = std::string{"/v1.0/users/"} + user1 + "/presence/setPresence";
  r.headers["authorization"] = "Bearer " + token();
  r.body = std::string{"{\"sessionId\":\""} + app +
           "\",\"availability\":\"Busy\",\"activity\":\"InACall\"}";

  EXPECT_EQ(svc_.handle(r).status, 415);
}

TEST_F(GraphEmulator, ClearPresenceWithoutSessionIs404ThenEndsSession) {
  std::string url =
    std::string{"/v1.0/users/"} + user1 + "/presence/clearPresence";
  std::string body = std::string{"{\"sessionId\":\""} + app + "\"}";

  auto missing = call("POST", url, body);
  ASSERT_EQ(set_presence(user1, "Busy", "InACall").status, 200);
  auto cleared = call("POST", url, body);

  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(cleared.status, 200);
  EXPECT_EQ(presence_of(user1), "Offline/Offline");
}

TEST_F(GraphEmulator, StrongestSessionWins) {
  std::string client =
    std::string{"/_control/users/"} + user1 + "/teams-client";

  call("PUT", client,
       "{\"availability\":\"Available\",\"activity\":"
       "\"Available\"}");
  set_presence(user1, "Busy", "InACall");
  std::string busy_over_available = presence_of(user1);
  set_presence(user1, "Away", "Away");
  std::string available_over_away = presence_of(user1);
  call("PUT", client,
       "{\"availability\":\"DoNotDisturb\",\"activity\":"
       "\"DoNotDisturb\"}");
  set_presence(user1, "Busy", "InACall");
  std::string dnd_over_busy = presence_of(user1);

  EXPECT_EQ(busy_over_available, "Busy/InACall");
  EXPECT_EQ(available_over_away, "Available/Available");
  EXPECT_EQ(dnd_over_busy, "DoNotDisturb/DoNotDisturb");
}

TEST_F(GraphEmulator, PreferredPresenceBeatsSessionsOnlyWhileOneExists) {
  std::string pref = std::string{"/v1.0/users/"} + user1 + "/presence/";
  ASSERT_EQ(call("POST", pref + "setUserPreferredPresence",
                 "{\"availability\":\"DoNotDisturb\",\"activity\":"
                 "\"DoNotDisturb\"}")
              .status,
            200);
  std::string alone = presence_of(user1);

  set_presence(user1, "Busy", "InACall");
  std::string with_session = presence_of(user1);
  ASSERT_EQ(call("POST", pref + "clearUserPreferredPresence", "{}").status,
            200);
  std::string after_clear = presence_of(user1);

  EXPECT_EQ(alone, "Offline/Offline");
  EXPECT_EQ(with_session, "DoNotDisturb/DoNotDisturb");
  EXPECT_EQ(after_clear, "Busy/InACall");
  EXPECT_EQ(call("POST", pref + "setUserPreferredPresence",
                 "{\"availability\":\"Busy\",\"activity\":\"InACall\"}")
              .status,
            400);
}

TEST_F(GraphEmulator, AvailableSessionFadesThenTurnsAway) {
  ASSERT_EQ(set_presence(user1, "Available", "Available").status, 200);

  advance(4 * minute);
  std::string at4 = presence_of(user1);
  advance(1 * minute);
  std::string at5 = presence_of(user1);
  advance(5 * minute);
  std::string at10 = presence_of(user1);
  set_presence(user1, "Available", "Available");
  std::string refreshed = presence_of(user1);

  EXPECT_EQ(at4, "Available/Available");
  EXPECT_EQ(at5, "Available/AvailableInactive");
  EXPECT_EQ(at10, "Away/Away");
  EXPECT_EQ(refreshed, "Available/Available");
}

TEST_F(GraphEmulator, SessionExpiresAfterItsDuration) {
  ASSERT_EQ(set_presence(user1, "Busy", "InACall", "PT5M").status, 200);
  std::string seq_busy =
    str(json(call("GET", std::string{"/v1.0/users/"} + user1 + "/presence")
               .body)["sequenceNumber"]);

  advance(5 * minute - 1);
  std::string before = presence_of(user1);
  advance(1);
  auto after =
    json(call("GET", std::string{"/v1.0/users/"} + user1 + "/presence").body);

  EXPECT_EQ(before, "Busy/InACall");
  EXPECT_EQ(str(after["availability"]), "Offline");
  EXPECT_GT(str(after["sequenceNumber"]), seq_busy);
}

TEST_F(GraphEmulator, UnlicensedUserHasUnknownPresenceAndRefusesWrites) {
  // User 8 is the generated disabled account.
  std::string disabled = "00000000-0000-0000-0000-000000000008";

  EXPECT_EQ(presence_of(disabled), "PresenceUnknown/PresenceUnknown");
  EXPECT_EQ(set_presence(disabled, "Busy", "InACall").status, 404);
}

TEST_F(GraphEmulator, GetPresencesByUserIdAcceptsUpTo650Ids) {
  auto body_with = [](int n) {
    std::string b = "{\"ids\":[";
    for (int i = 1; i <= n; ++i) {
      char id[40];
      std::snprintf(id, sizeof id, "00000000-0000-0000-0000-%012d", i);
      b += (i > 1 ? ",\"" : "\"") + std::string{id} + "\"";
    }
    return b + "]}";
  };

  auto ok =
    call("POST", "/v1.0/communications/getPresencesByUserId", body_with(650));
  auto too_many =
    call("POST", "/v1.0/communications/getPresencesByUserId", body_with(651));

  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(json(ok.body)["value"].get_array().size(), 10u);
  EXPECT_EQ(too_many.status, 400);
  EXPECT_NE(too_many.body.find("650"), std::string::npos);
}

TEST_F(GraphEmulator, UnbuiltPartsOfTheSpecAnswerNotImplemented) {
  auto subscription = call("POST", "/v1.0/subscriptions", "{}");
  auto status_message = call(
    "POST", std::string{"/v1.0/users/"} + user1 + "/presence/setStatusMessage",
    "{}");
  auto inventory = call("GET", "/v1.0/admin/teams/telephoneNumberManagement/"
                               "numberAssignments");

  EXPECT_EQ(subscription.status, 501);
  EXPECT_EQ(str(json(subscription.body)["error"]["code"]), "NotImplemented");
  EXPECT_EQ(status_message.status, 501);
  EXPECT_EQ(inventory.status, 501);
}

// -- Teams phone numbers (spec 7.2) -------------------------------------------

TEST_F(GraphEmulator, TeamsNumberSetThroughControlShowsAsPrimary) {
  auto set = call("PATCH", std::string{"/_control/users/"} + user2,
                  R"({"teamsNumber":"+14255550102"})");

  auto one =
    call("GET", std::string{"/v1.0/admin/teams/userConfigurations/"} + user2);
  auto other =
    call("GET", std::string{"/v1.0/admin/teams/userConfigurations/"} + user1);
  auto unknown = call("GET", "/v1.0/admin/teams/userConfigurations/nobody");

  ASSERT_EQ(set.status, 200) << set.body;
  EXPECT_EQ(str(json(set.body)["teamsNumber"]), "+14255550102");
  ASSERT_EQ(one.status, 200) << one.body;
  auto config = json(one.body);
  EXPECT_EQ(str(config["id"]), user2);
  EXPECT_EQ(str(config["tenantId"]), tenant);
  EXPECT_EQ(str(config["accountType"]), "user");
  EXPECT_EQ(str(config["telephoneNumbers"].at(0)["telephoneNumber"]),
            "+14255550102");
  EXPECT_EQ(str(config["telephoneNumbers"].at(0)["assignmentCategory"]),
            "primary");
  ASSERT_EQ(other.status, 200);
  EXPECT_EQ(json(other.body)["telephoneNumbers"].get_array().size(), 0u);
  EXPECT_EQ(unknown.status, 404);
}

TEST_F(GraphEmulator, TeamsConfigurationListPagesThroughEveryUser) {
  call("POST", "/_control/users",
       R"({"id":"00000000-0000-0000-0000-0000000000c1",)"
       R"("teamsNumber":"+442071838750"})");
  std::string target = "/v1.0/admin/teams/userConfigurations";
  std::set<std::string> seen;
  std::string number;
  int pages = 0;

  while (!target.empty() && pages < 20) {
    http_request r;
    r.method = "GET";
    r.target = target;
    r.headers["authorization"] = "Bearer " + token();
    r.headers["prefer"] = "odata.maxpagesize=4";
    auto page = svc_.handle(r);
    ASSERT_EQ(page.status, 200) << page.body;
    ++pages;
    auto doc = json(page.body);
    for (auto c : items(doc["value"])) {
      seen.insert(str(c["id"]));
      auto numbers = items(c["telephoneNumbers"]);
      if (numbers.size() > 0) {
        number = str(numbers.at(0)["telephoneNumber"]);
      }
    }
    std::string_view next;
    target = doc["@odata.nextLink"].get(next) == simdjson::SUCCESS
               ? std::string{next}.substr(std::string{base}.size())
               : "";
  }

  EXPECT_EQ(seen.size(), 11u); // ten generated users and the new one
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(number, "+442071838750");
}

TEST_F(GraphEmulator, TeamsNumberAloneIsNoDirectoryChange) {
  auto first = call("GET", "/v1.0/users/delta?$select=id,displayName");
  std::string_view link;
  ASSERT_EQ(json(first.body)["@odata.deltaLink"].get(link), simdjson::SUCCESS);
  std::string delta{std::string{link}.substr(std::string{base}.size())};

  call("PATCH", std::string{"/_control/users/"} + user1,
       R"({"teamsNumber":"+14255550101"})");
  auto quiet = call("GET", delta);
  call("PATCH", std::string{"/_control/users/"} + user1,
       R"({"displayName":"Renamed","teamsNumber":null})");
  auto changed = call("GET", delta);

  ASSERT_EQ(quiet.status, 200) << quiet.body;
  EXPECT_EQ(json(quiet.body)["value"].get_array().size(), 0u);
  ASSERT_EQ(changed.status, 200) << changed.body;
  EXPECT_EQ(json(changed.body)["value"].get_array().size(), 1u);
  auto config =
    call("GET", std::string{"/v1.0/admin/teams/userConfigurations/"} + user1);
  EXPECT_EQ(json(config.body)["telephoneNumbers"].get_array().size(), 0u);
}

TEST_F(GraphEmulator, TeamsConfigDeniedKnobGives403OnListAndUser) {
  knobs(R"({"teamsConfigDenied":true})");

  auto list = call("GET", "/v1.0/admin/teams/userConfigurations");
  auto one =
    call("GET", std::string{"/v1.0/admin/teams/userConfigurations/"} + user1);
  knobs(R"({"teamsConfigDenied":false})");
  auto again = call("GET", "/v1.0/admin/teams/userConfigurations");

  EXPECT_EQ(list.status, 403);
  EXPECT_EQ(str(json(list.body)["error"]["code"]), "Forbidden");
  EXPECT_NE(list.body.find("TeamsUserConfiguration.Read.All"),
            std::string::npos);
  EXPECT_EQ(one.status, 403);
  EXPECT_EQ(again.status, 200);
}

// -- batch ------------------------------------------------------------------

TEST_F(GraphEmulator, BatchFixtureRunsEachRequestIndependently) {
  auto r = call("POST", "/v1.0/$batch", read_fixture("batch-request.json"));

  ASSERT_EQ(r.status, 200) << r.body;
  std::map<std::string, long long> status;
  for (auto sub : items(json(r.body)["responses"])) {
    status[str(sub["id"])] = sub["status"].get_int64().value();
  }
  EXPECT_EQ(status["1"], 200);
  EXPECT_EQ(status["2"], 200);
  EXPECT_EQ(status["3"], 404);
  EXPECT_EQ(status["4"], 200);
  EXPECT_EQ(presence_of(user1), "Busy/InACall");
  EXPECT_EQ(presence_of(user2), "Available/Available");
}

TEST_F(GraphEmulator, BatchOfMoreThanTwentyIsRejected) {
  std::string body = "{\"requests\":[";
  for (int i = 1; i <= 21; ++i) {
    body += (i > 1 ? "," : "") + std::string{"{\"id\":\""} + std::to_string(i) +
            "\",\"method\":\"GET\",\"url\":\"/users/" + user1 + "/presence\"}";
  }
  body += "]}";

  auto r = call("POST", "/v1.0/$batch", body);

  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("20"), std::string::npos);
}

// -- knobs ------------------------------------------------------------------

TEST_F(GraphEmulator, ThrottlingGives429WithRetryAfterUntilWindowEnds) {
  token();
  knobs("{\"throttleLimit\":2,\"throttleWindowMs\":30000}");
  std::string url = std::string{"/v1.0/users/"} + user1 + "/presence";

  EXPECT_EQ(call("GET", url).status, 200);
  advance(27872);
  EXPECT_EQ(call("GET", url).status, 200);
  auto limited = call("GET", url);
  advance(2128);
  auto again = call("GET", url);

  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.header("Retry-After"), "2.128");
  EXPECT_EQ(str(json(limited.body)["error"]["code"]), "TooManyRequests");
  EXPECT_EQ(str(json(limited.body)["error"]["innerError"]["status"]), "429");
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(call("GET", "/v1.0/users").status, 200); // not a presence call
}

TEST_F(GraphEmulator, ThrottlingCountsEveryBatchSubRequest) {
  token();
  knobs("{\"throttleLimit\":3}");
  std::string body = "{\"requests\":[";
  for (int i = 1; i <= 4; ++i) {
    body += (i > 1 ? "," : "") + std::string{"{\"id\":\""} + std::to_string(i) +
            "\",\"method\":\"GET\",\"url\":\"/users/" + user1 + "/presence\"}";
  }
  body += "]}";

  auto r = call("POST", "/v1.0/$batch", body);

  ASSERT_EQ(r.status, 200);
  auto subs = json(r.body)["responses"];
  EXPECT_EQ(subs.at(2)["status"].get_int64().value(), 200);
  EXPECT_EQ(subs.at(3)["status"].get_int64().value(), 429);
  EXPECT_EQ(str(subs.at(3)["headers"]["Retry-After"]), "30.000");
}

TEST_F(GraphEmulator, ErrorRateOneFailsEveryGraphCallBeforeItsEffect) {
  token();
  knobs("{\"errorRate\":1}");

  auto r = set_presence(user1, "Busy", "InACall");
  knobs("{\"errorRate\":0}");

  EXPECT_GE(r.status, 500);
  EXPECT_EQ(presence_of(user1), "Offline/Offline");
}

TEST_F(GraphEmulator, FailNextFailsWholeBatchesBeforeAnyEffect) {
  token();
  knobs(R"({"failNext":2,"failStatus":502})");
  std::string body = std::string{R"({"requests":[{"id":"1","method":"POST",)"} +
                     R"("url":"/users/)" + user1 +
                     R"(/presence/setPresence","headers":{"Content-Type":)" +
                     R"("application/json"},"body":{"sessionId":")" + app +
                     R"(","availability":"Busy","activity":"InACall",)" +
                     R"("expirationDuration":"PT1H"}}]})";

  auto first = call("POST", "/v1.0/$batch", body);
  auto second = call("POST", "/v1.0/$batch", body);
  auto before = presence_of(user1);
  knobs(R"({"failNext":1,"failStatus":503,"failRetryAfterMs":1500})");
  auto third = call("POST", "/v1.0/$batch", body);
  auto fourth = call("POST", "/v1.0/$batch", body);

  EXPECT_EQ(first.status, 502);
  EXPECT_EQ(first.header("Retry-After"), "");
  EXPECT_EQ(second.status, 502);
  EXPECT_EQ(before, "Offline/Offline");
  EXPECT_EQ(third.status, 503);
  EXPECT_EQ(third.header("Retry-After"), "1.500");
  EXPECT_EQ(fourth.status, 200);
  EXPECT_EQ(presence_of(user1), "Busy/InACall");
  auto counters = json(call("GET", "/_control/counters").body);
  EXPECT_EQ(counters["operations"]["injected_errors"].get_int64().value(), 3);
}

TEST_F(GraphEmulator, ResetKnobMarksTheNextResponseToBeCut) {
  token();
  knobs("{\"resetNext\":1}");

  auto first = call("GET", "/v1.0/users");
  auto second = call("GET", "/v1.0/users");

  EXPECT_TRUE(first.cut_connection);
  EXPECT_FALSE(second.cut_connection);
}

// -- control API -------------------------------------------------------------

TEST_F(GraphEmulator, ControlRecordsWritesCountersAndSessions) {
  set_presence(user1, "Busy", "InACall", "PT30M");
  set_presence(user1, "Busy", "Busy");

  auto writes = json(call("GET", "/_control/writes").body)["writes"];
  auto counters = json(call("GET", "/_control/counters").body);
  auto state = json(
    call("GET", std::string{"/_control/users/"} + user1 + "/presence").body);

  ASSERT_EQ(writes.get_array().size(), 2u);
  EXPECT_EQ(str(writes.at(0)["operation"]), "setPresence");
  EXPECT_EQ(str(writes.at(0)["sessionId"]), app);
  EXPECT_EQ(str(writes.at(0)["expirationDuration"]), "PT30M");
  EXPECT_EQ(writes.at(1)["status"].get_int64().value(), 400);
  EXPECT_EQ(counters["operations"]["presence.setPresence"].get_int64().value(),
            2);
  EXPECT_EQ(str(state["aggregate"]["availability"]), "Busy");
  EXPECT_EQ(state["sessions"].get_array().size(), 1u);
  ASSERT_EQ(call("POST", "/_control/counters/reset").status, 204);
  auto reset = json(call("GET", "/_control/counters").body);
  simdjson::dom::element gone;
  EXPECT_NE(reset["operations"]["presence.setPresence"].get(gone),
            simdjson::SUCCESS);
}

TEST_F(GraphEmulator, ControlRefusesRemoteClients) {
  http_request r;
  r.method = "GET";
  r.target = "/_control/health";
  r.from_loopback = false;

  EXPECT_EQ(svc_.handle(r).status, 403);
}

} // namespace
