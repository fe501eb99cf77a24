#include "app/api.hpp"

#include <gtest/gtest.h>

namespace presync::app {
namespace {

http::server_request get(std::string target, std::string auth = {}) {
  http::server_request r;
  r.method = "GET";
  r.target = std::move(target);
  if (!auth.empty()) {
    r.headers.add("Authorization", std::move(auth));
  }
  return r;
}

TEST(Api, TokensAreSplitOnCommasAndTrimmed) {
  auto tokens = parse_api_tokens(" one ,two,, three");
  ASSERT_EQ(tokens.size(), 3u);
  EXPECT_EQ(tokens[0].reveal(), "one");
  EXPECT_EQ(tokens[1].reveal(), "two");
  EXPECT_EQ(tokens[2].reveal(), "three");
  EXPECT_TRUE(parse_api_tokens("").empty());
}

TEST(Api, BearerMustMatchOneTokenExactly) {
  auto tokens = parse_api_tokens("alpha,beta");
  EXPECT_TRUE(bearer_allowed("Bearer alpha", tokens));
  EXPECT_TRUE(bearer_allowed("Bearer beta", tokens));
  EXPECT_FALSE(bearer_allowed("Bearer alph", tokens));
  EXPECT_FALSE(bearer_allowed("Bearer alphaa", tokens));
  EXPECT_FALSE(bearer_allowed("Bearer ", tokens));
  EXPECT_FALSE(bearer_allowed("Basic alpha", tokens));
  EXPECT_FALSE(bearer_allowed("alpha", tokens));
  EXPECT_FALSE(bearer_allowed("Bearer alpha", {}));
}

TEST(Api, HealthAndReadinessNeedNoToken) {
  std::vector<std::unique_ptr<tenant_runtime>> none;
  api_context ctx{&none, parse_api_tokens("t")};

  auto health = handle_api(ctx, get("/healthz"));
  auto ready = handle_api(ctx, get("/readyz?verbose=1"));

  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body, R"({"status":"ok"})");
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(ready.body, R"({"tenants":{},"ready":true})");
}

TEST(Api, V1WithoutAValidTokenIs401AndSaysNothingMore) {
  std::vector<std::unique_ptr<tenant_runtime>> none;
  api_context ctx{&none, parse_api_tokens("secret-token")};

  auto missing = handle_api(ctx, get("/v1/tenants/x/identity/conflicts"));
  auto wrong =
    handle_api(ctx, get("/v1/tenants/x/identity/conflicts", "Bearer guess"));
  auto right = handle_api(
    ctx, get("/v1/tenants/x/identity/conflicts", "Bearer secret-token"));

  EXPECT_EQ(missing.status, 401);
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(wrong.body, missing.body);
  EXPECT_EQ(wrong.headers.find("WWW-Authenticate"), "Bearer");
  EXPECT_EQ(wrong.body.find("secret-token"), std::string::npos);
  EXPECT_EQ(right.status, 404); // authenticated, but no such tenant
}

TEST(Api, OnlyReadsAreAllowed) {
  std::vector<std::unique_ptr<tenant_runtime>> none;
  api_context ctx{&none, {}};
  auto r = get("/healthz");
  r.method = "DELETE";
  EXPECT_EQ(handle_api(ctx, r).status, 405);
  EXPECT_EQ(handle_api(ctx, get("/nowhere")).status, 404);
}

} // namespace
} // namespace presync::app
