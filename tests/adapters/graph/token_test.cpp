#include "adapters/graph/token.hpp"

#include "fixture.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace presync::graph {
namespace {

using testing::fixture;
using namespace std::chrono_literals;

client_credentials credentials() {
  return {"00000000-0000-0000-0000-0000000000a1",
          "00000000-0000-0000-0000-0000000000b1", secret{"s3cr&t=x y"}};
}

TEST(TokenRequest, PostsClientCredentialsFormToTenantEndpoint) {
  endpoints where{"https://127.0.0.1:9443", "https://127.0.0.1:9444"};

  auto req = build_token_request(credentials(), where);

  ASSERT_TRUE(req) << req.err().describe();
  EXPECT_EQ(req->method, "POST");
  EXPECT_EQ(req->url, "https://127.0.0.1:9443/"
                      "00000000-0000-0000-0000-0000000000a1/oauth2/v2.0/token");
  EXPECT_EQ(req->headers.find("content-type"),
            "application/x-www-form-urlencoded");
  EXPECT_EQ(req->body,
            "client_id=00000000-0000-0000-0000-0000000000b1"
            "&scope=https%3A%2F%2F127.0.0.1%3A9444%2F.default"
            "&grant_type=client_credentials&client_secret=s3cr%26t%3Dx%20y");
}

TEST(TokenRequest, EmptySecretIsConfigInvalid) {
  auto c = credentials();
  c.client_secret = secret{};

  auto req = build_token_request(c, endpoints{});

  ASSERT_FALSE(req);
  EXPECT_EQ(req.err().code, sync_error::config_invalid);
  EXPECT_EQ(req.err().context, "token request: client_secret is empty");
}

TEST(TokenResponse, FixtureGivesExpiryAndOpaqueToken) {
  auto token = parse_token_response(fixture("token-response.json"));

  ASSERT_TRUE(token) << token.err().describe();
  EXPECT_EQ(token->expires_in, 3599s);
  EXPECT_EQ(token->access_token.reveal().substr(0, 20), "eyJ0eXAiOiJKV1QiLCJh");
  EXPECT_EQ(token->access_token.reveal().size(), 493u);
}

TEST(TokenResponse, ExpiresInAsDigitStringIsAccepted) {
  auto token = parse_token_response(
    R"({"token_type":"Bearer","expires_in":"120","access_token":"abc"})");

  ASSERT_TRUE(token) << token.err().describe();
  EXPECT_EQ(token->expires_in, 120s);
}

TEST(TokenResponse, MissingAccessTokenNamesTheField) {
  auto token =
    parse_token_response(R"({"token_type":"Bearer","expires_in":3599})");

  ASSERT_FALSE(token);
  EXPECT_EQ(token.err().code, sync_error::malformed);
  EXPECT_EQ(token.err().context,
            "token response: access_token: missing or empty");
}

TEST(TokenResponse, WrongTypeOfExpiresInNamesTheField) {
  auto token = parse_token_response(
    R"({"token_type":"Bearer","expires_in":true,"access_token":"abc"})");

  ASSERT_FALSE(token);
  EXPECT_EQ(token.err().context, "token response: expires_in: expected an "
                                 "integer");
}

TEST(TokenResponse, ExpiresInBeyondNineDigitsIsOutOfRange) {
  // Found by the graph_token fuzz target: milliseconds overflowed.
  auto token = parse_token_response(
    R"({"token_type":"Bearer","expires_in":63111111111111111,)"
    R"("access_token":"abc"})");

  ASSERT_FALSE(token);
  EXPECT_EQ(token.err().context, "token response: expires_in: out of range");
}

TEST(TokenResponse, TruncatedJsonIsMalformed) {
  auto text = fixture("token-response.json");

  auto token = parse_token_response(text.substr(0, text.size() / 2));

  ASSERT_FALSE(token);
  EXPECT_EQ(token.err().code, sync_error::malformed);
  EXPECT_NE(token.err().context.find("token response"), std::string::npos);
  EXPECT_EQ(token.err().context.find("eyJ0"), std::string::npos);
}

std::string token_error(std::string_view error, int code) {
  return std::string{R"({"error":")"} + std::string{error} +
         R"(","error_description":"AADSTS)" + std::to_string(code) +
         R"(: secret words here","error_codes":[)" + std::to_string(code) +
         R"(],"trace_id":"t1","correlation_id":"c1"})";
}

TEST(TokenError, AadstsCodesMapToTheirErrors) {
  struct row {
    std::string_view error;
    int code;
    sync_error expected;
  };
  const row rows[] = {
    {"invalid_client", 7000222, sync_error::secret_expired},
    {"invalid_client", 65001, sync_error::not_consented},
    {"invalid_request", 90002, sync_error::tenant_not_found},
    {"invalid_client", 7000215, sync_error::unauthorized},
    {"invalid_grant", 70008, sync_error::unauthorized},
    {"unauthorized_client", 700016, sync_error::not_consented},
    {"invalid_scope", 70011, sync_error::rejected},
    {"temporarily_unavailable", 1, sync_error::unavailable},
  };

  for (const auto& r : rows) {
    auto e = parse_token_error(400, {}, token_error(r.error, r.code));

    EXPECT_EQ(e.code, r.expected) << r.error << " " << r.code;
    EXPECT_EQ(e.context, "token endpoint: " + std::string{r.error} + " AADSTS" +
                           std::to_string(r.code));
    EXPECT_EQ(e.request_id, "c1");
    EXPECT_EQ(e.http_status, 400);
  }
}

TEST(TokenError, UnreadableBodyFallsBackToStatus) {
  auto e = parse_token_error(503, {}, "<html>busy</html>");

  EXPECT_EQ(e.code, sync_error::unavailable);
  EXPECT_EQ(e.http_status, 503);
}

TEST(Secret, FormattingPrintsTheMaskOnly) {
  auto token = parse_token_response(fixture("token-response.json"));
  ASSERT_TRUE(token);
  std::ostringstream log;

  log << "token=" << token->access_token;

  EXPECT_EQ(log.str(), "token=***");
  EXPECT_EQ(to_string(token->access_token), "***");
}

TEST(TokenCache, RenewsFiveMinutesBeforeExpiry) {
  token_cache cache;
  cache.store({secret{"t"}, 3600s}, at(10s));

  EXPECT_FALSE(cache.needs_refresh(at(10s + 54min + 59s)));
  EXPECT_TRUE(cache.needs_refresh(at(10s + 55min)));
  EXPECT_EQ(cache.refresh_due(), at(10s + 55min));
  ASSERT_NE(cache.current(at(10s + 59min)), nullptr);
  EXPECT_EQ(cache.current(at(10s + 59min))->reveal(), "t");
  EXPECT_EQ(cache.current(at(10s + 60min)), nullptr);
}

TEST(TokenCache, OneRenewalInFlightAtATime) {
  token_cache cache;

  EXPECT_TRUE(cache.begin_refresh(at(0s)));
  EXPECT_FALSE(cache.begin_refresh(at(1s)));
  cache.refresh_failed();
  EXPECT_TRUE(cache.begin_refresh(at(2s)));
  cache.store({secret{"t"}, 3600s}, at(3s));
  EXPECT_FALSE(cache.begin_refresh(at(4s)));
}

TEST(TokenCache, ExpiryIsKnownOnlyWhileATokenIsHeld) {
  token_cache cache;
  EXPECT_EQ(cache.expires_at(), std::nullopt);

  cache.store({secret{"t"}, 3600s}, at(10s));
  EXPECT_EQ(cache.expires_at(), at(10s + 60min));

  cache.invalidate();
  EXPECT_EQ(cache.expires_at(), std::nullopt);
}

TEST(TokenCache, InvalidateAfter401ForcesRenewal) {
  token_cache cache;
  cache.store({secret{"t"}, 3600s}, at(0s));

  cache.invalidate();

  EXPECT_TRUE(cache.needs_refresh(at(1s)));
  EXPECT_EQ(cache.current(at(1s)), nullptr);
}

} // namespace
} // namespace presync::graph
