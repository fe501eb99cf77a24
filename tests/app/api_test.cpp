#include "app/api.hpp"

#include "app/directory_snapshot.hpp"

#include <gtest/gtest.h>

#include <caf/all.hpp>

#include <atomic>
#include <mutex>

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
  EXPECT_TRUE(bearer_allowed("bearer alpha", tokens)); // scheme: any case
  EXPECT_TRUE(bearer_allowed("BEARER alpha", tokens));
  EXPECT_FALSE(bearer_allowed("Bearer ALPHA", tokens)); // token: exact
  EXPECT_FALSE(bearer_allowed("Bearer alph", tokens));
  EXPECT_FALSE(bearer_allowed("Bearer alphaa", tokens));
  EXPECT_FALSE(bearer_allowed("Bearer ", tokens));
  EXPECT_FALSE(bearer_allowed("Basic alpha", tokens));
  EXPECT_FALSE(bearer_allowed("alpha", tokens));
  EXPECT_FALSE(bearer_allowed("Bearer alpha", {}));
}

TEST(Api, HealthAndReadinessNeedNoToken) {
  std::vector<std::unique_ptr<tenant_runtime>> none;
  api_context ctx;
  ctx.tenants = &none;
  ctx.tokens = parse_api_tokens("t");

  auto health = handle_api(ctx, get("/healthz"));
  auto ready = handle_api(ctx, get("/readyz?verbose=1"));
  auto detail = handle_api(ctx, get("/readyz", "Bearer t"));

  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body, R"({"status":"ok"})");
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(ready.body, R"({"status":"ready"})");
  EXPECT_EQ(detail.status, 200);
  EXPECT_EQ(detail.body, R"({"tenants":{},"ready":true})");
}

TEST(Api, V1WithoutAValidTokenIs401AndSaysNothingMore) {
  std::vector<std::unique_ptr<tenant_runtime>> none;
  api_context ctx;
  ctx.tenants = &none;
  ctx.tokens = parse_api_tokens("secret-token");

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
  api_context ctx;
  ctx.tenants = &none;
  ctx.tokens = {};
  auto r = get("/healthz");
  r.method = "DELETE";
  EXPECT_EQ(handle_api(ctx, r).status, 405);
  EXPECT_EQ(handle_api(ctx, get("/nowhere")).status, 404);
}

// -- the directory, dialing and routing API ----------------------------------

http::server_request request(std::string method, std::string target,
                             std::string body = {},
                             std::string type = "application/json") {
  auto r = get(std::move(target), "Bearer tok");
  r.method = std::move(method);
  r.body = std::move(body);
  if (!type.empty()) {
    r.headers.add("Content-Type", std::move(type));
  }
  return r;
}

/// One tenant "t1" whose directory holds Ada (both sides, dialable), Bo
/// (Connect desk phone), Olivia (Teams only, not dialable) and agent Zed
/// (Connect only); person queries and calls are answered by fakes.
class ApiDirectory : public ::testing::Test {
 protected:
  ApiDirectory() {
    config::tenant_config tc;
    tc.id = "t1";
    tc.connect.instance_id = "00000000-0000-0000-0000-0000000000aa";
    tc.connect.outbound_contact_flow_id =
      "00000000-0000-0000-0000-0000000000d1";
    tc.connect.outbound_queue_id = "00000000-0000-0000-0000-0000000000e1";
    tenants_.push_back(std::make_unique<tenant_runtime>(
      sys_, tc, nullptr, [](std::string_view) { return std::nullopt; }));
    dirs_.push_back(std::make_unique<tenant_directory>("t1", tc.connect));
    ctx_.tenants = &tenants_;
    ctx_.directory_of = [this](const tenant_runtime& t) {
      for (size_t i = 0; i < tenants_.size(); ++i) {
        if (tenants_[i].get() == &t) {
          return dirs_[i].get();
        }
      }
      return static_cast<tenant_directory*>(nullptr);
    };
    ctx_.tokens = parse_api_tokens("tok");
    ctx_.cors_origins = {"https://desk.example.com"};
    dir().publish(build_directory_snapshot(sample(), 1));
    dir().board().seed("g-ada",
                       live_state{presence{"Busy", "InACall"}, "OnContact", 1});
    dir().set_person_query([](const std::string& id, auto done) {
      if (id == "c-zed") {
        done(make_error(sync_error::not_found, "person actor: unknown"));
        return;
      }
      person_detail d;
      d.now = at(std::chrono::seconds{10});
      d.view.id = id;
      d.view.connect_state = "OnContact";
      d.view.agent_status = "Available";
      d.view.session = teams_target::of({"Busy", "InACall"});
      d.view.t2c_hold = "Busy/InAMeeting";
      d.view.t2c_hold_due = at(std::chrono::seconds{12});
      d.view.deferred = true;
      d.journal.push_back({at(std::chrono::seconds{4}), decision::propagated,
                           direction::connect_to_teams,
                           "Teams session set to Busy/InACall"});
      done(std::move(d));
    });
    dir().set_dialer([this](const connect::outbound_voice_contact& c)
                       -> expected<std::string> {
      std::lock_guard guard{mutex_};
      calls_.push_back(c);
      if (dial_error_) {
        return *dial_error_;
      }
      return "contact-" + std::to_string(calls_.size());
    });
  }

  static directory_inputs sample() {
    directory_inputs in;
    auto teams = [&](std::string id, std::string name,
                     std::optional<std::string> phone) {
      graph::directory_entry e;
      e.id = id;
      e.phone_e164 = phone;
      e.phone_from =
        phone ? graph::phone_source::business : graph::phone_source::none;
      e.not_dialable_reason = phone ? "" : "no businessPhones or mobilePhone";
      in.teams_entries[id] = e;
      auto upn = lower_ascii(name.substr(0, name.find(' '))) + "@example.com";
      in.teams.push_back(teams_account{id, upn, upn, name});
    };
    teams("g-ada", "Ada Agent", "+14255550101");
    teams("g-bo", "Bo Agent", std::nullopt);
    teams("g-olivia", "Olivia Office", std::nullopt);
    auto agent = [&](std::string id, std::string username, std::string desk) {
      connect_user_info u;
      u.summary = {id, "arn:aws:connect:::agent/" + id, username, 0, ""};
      connect::user_details d;
      d.id = id;
      d.first_name = "Zed";
      d.last_name = "Agent";
      d.desk_phone_number = desk;
      u.details = d;
      in.connect_users[id] = u;
      in.agents.push_back(connect_account{id, username, "", username});
    };
    agent("c-ada", "ada@example.com", "");
    agent("c-bo", "bo@example.com", "+14255550202");
    agent("c-zed", "zed@example.com", "");
    in.people.people = {{"g-ada", 0, 0, "upn"},
                        {"g-bo", 1, 1, "upn"},
                        {"g-olivia", 2, std::nullopt, ""},
                        {"c-zed", std::nullopt, 2, ""}};
    in.did_mapping = {{"+14255550300", "12", "zed@example.com", 1}};
    return in;
  }

  tenant_directory& dir() { return *dirs_[0]; }

  http::server_response run(const http::server_request& r) {
    return handle_api(ctx_, r);
  }

  http::server_response post_call(std::string body) {
    return run(request("POST", "/v1/tenants/t1/calls", std::move(body)));
  }

  static std::string field_of(const http::server_response& r) {
    auto at = r.body.find(R"("field":")");
    if (at == std::string::npos) {
      return "";
    }
    at += 9;
    return r.body.substr(at, r.body.find('"', at) - at);
  }

  caf::actor_system_config sys_cfg_;
  caf::actor_system sys_{sys_cfg_};
  std::vector<std::unique_ptr<tenant_runtime>> tenants_;
  std::vector<std::unique_ptr<tenant_directory>> dirs_;
  api_context ctx_;
  std::mutex mutex_;
  std::vector<connect::outbound_voice_contact> calls_;
  std::optional<error> dial_error_;
};

bool has(const std::string& body, std::string_view part) {
  return body.find(part) != std::string::npos;
}

TEST_F(ApiDirectory, ReadinessShowsTenantsAndReasonsOnlyWithAToken) {
  auto none = run(get("/readyz"));
  auto wrong = run(get("/readyz", "Bearer tokk"));
  auto right = run(get("/readyz", "Bearer tok"));

  // Tenant t1 is still starting: every caller sees 503 (the probe needs
  // no token), but only the token holder learns which tenant and why.
  EXPECT_EQ(none.status, 503);
  EXPECT_EQ(none.body, R"({"status":"not ready"})");
  EXPECT_EQ(wrong.status, 503);
  EXPECT_EQ(wrong.body, none.body);
  EXPECT_EQ(right.status, 503);
  EXPECT_EQ(right.body, R"({"tenants":{"t1":"starting"},"ready":false})");
}

TEST_F(ApiDirectory, EveryNewRouteNeedsTheTokenAndSaysNothingElse) {
  auto ask = [&](std::string method, std::string target, std::string auth) {
    auto r = request(std::move(method), std::move(target), "{}");
    r.headers = {};
    if (!auth.empty()) {
      r.headers.add("Authorization", auth);
    }
    return run(r);
  };
  for (auto target :
       {"/v1/tenants", "/v1/tenants/t1/directory",
        "/v1/tenants/t1/directory/events", "/v1/tenants/t1/people/g-ada",
        "/v1/tenants/t1/people/nobody", "/v1/tenants/nope/directory",
        "/v1/tenants/t1/route?number=%2B14255550202"}) {
    auto none = ask("GET", target, "");
    auto wrong = ask("GET", target, "Bearer tokk");
    EXPECT_EQ(none.status, 401) << target;
    EXPECT_EQ(wrong.status, 401) << target;
    EXPECT_EQ(none.body, R"({"error":"missing or invalid bearer token"})")
      << target;
  }
  EXPECT_EQ(ask("POST", "/v1/tenants/t1/calls", "").status, 401);
  EXPECT_TRUE(calls_.empty());
}

TEST_F(ApiDirectory, ListsTenants) {
  auto r = run(get("/v1/tenants", "Bearer tok"));
  auto text = run(get("/v1/tenants?format=text", "Bearer tok"));

  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"tenants":[{"id":"t1","ready":false}]})");
  EXPECT_EQ(text.body, "t1 starting\n");
}

TEST_F(ApiDirectory, WithoutADirectoryLookupTheRoutesAre503) {
  ctx_.directory_of = nullptr;

  auto r = run(get("/v1/tenants/t1/directory", "Bearer tok"));
  auto conflicts = run(get("/v1/tenants/t1/identity/conflicts", "Bearer tok"));

  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(conflicts.status, 200);
}

TEST_F(ApiDirectory, UnknownTenantIs404) {
  auto r = run(get("/v1/tenants/t2/directory", "Bearer tok"));

  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, R"({"error":"unknown tenant"})");
}

TEST_F(ApiDirectory, DirectoryListsEveryPersonWithLiveState) {
  auto r = run(get("/v1/tenants/t1/directory", "Bearer tok"));

  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(has(r.body, R"("total":4,"people":[{"id":"g-ada")")) << r.body;
  EXPECT_TRUE(
    has(r.body, R"("state":{"presence":"busy","teams":{"availability":)"
                R"("Busy","activity":"InACall"},"connect_state":"OnContact")"))
    << r.body;
  EXPECT_TRUE(has(r.body, R"("dialable":false,"number":null)")) << r.body;
  EXPECT_TRUE(has(r.body, R"("next_cursor":null)"));
  EXPECT_TRUE(has(r.body, R"("events_from":")"));
}

TEST_F(ApiDirectory, DirectorySearchFilterAndPages) {
  auto olivia = run(get("/v1/tenants/t1/directory?q=Olivia", "Bearer tok"));
  auto number =
    run(get("/v1/tenants/t1/directory?q=%2B1+425+555+0202", "Bearer tok"));
  auto busy =
    run(get("/v1/tenants/t1/directory?presence=busy,dnd", "Bearer tok"));
  auto page1 = run(get("/v1/tenants/t1/directory?limit=3", "Bearer tok"));

  EXPECT_TRUE(has(olivia.body, R"("total":1,"people":[{"id":"g-olivia")"));
  EXPECT_TRUE(has(number.body, R"("total":1,"people":[{"id":"g-bo")"))
    << number.body;
  EXPECT_TRUE(has(busy.body, R"("total":1,"people":[{"id":"g-ada")"));
  auto at = page1.body.find(R"("next_cursor":")") + 15;
  auto cursor = page1.body.substr(at, page1.body.find('"', at) - at);
  auto page2 =
    run(get("/v1/tenants/t1/directory?limit=3&cursor=" + cursor, "Bearer tok"));
  EXPECT_TRUE(has(page2.body, R"("people":[{"id":"c-zed")")) << page2.body;
  EXPECT_TRUE(has(page2.body, R"("next_cursor":null)"));
}

TEST_F(ApiDirectory, DirectoryRefusesBadInputNamingTheField) {
  struct bad_case {
    std::string query;
    std::string field;
  };
  for (const auto& c : std::vector<bad_case>{
         {"limit=0", "limit"},
         {"limit=1001", "limit"},
         {"limit=ten", "limit"},
         {"presence=happy", "presence"},
         {"cursor=abc!", "cursor"},
         {"cursor=YWJj", "cursor"},
         {"colour=red", "colour"},
         {"q=a&q=b", "q"},
         {"q=%zz", "query"},
         {"q=" + std::string(201, 'a'), "q"},
       }) {
    auto r = run(get("/v1/tenants/t1/directory?" + c.query, "Bearer tok"));
    EXPECT_EQ(r.status, 400) << c.query;
    EXPECT_EQ(field_of(r), c.field) << c.query << " " << r.body;
  }
  EXPECT_EQ(
    run(get("/v1/tenants/t1/directory?limit=1000", "Bearer tok")).status, 200);
}

TEST_F(ApiDirectory, BeforeTheFirstSnapshotTheDirectoryIsStarting) {
  config::tenant_config tc;
  tc.id = "t0";
  tenants_.push_back(std::make_unique<tenant_runtime>(
    sys_, tc, nullptr, [](std::string_view) { return std::nullopt; }));
  dirs_.push_back(std::make_unique<tenant_directory>("t0", tc.connect));

  auto r = run(get("/v1/tenants/t0/directory", "Bearer tok"));

  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.headers.find("Retry-After"), "5");
}

TEST_F(ApiDirectory, APersonShowsBothSidesSessionHoldsAndJournal) {
  auto r = run(get("/v1/tenants/t1/people/g-ada", "Bearer tok"));

  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(has(r.body, R"({"person":{"id":"g-ada","display_name":"Ada )"
                          R"(Agent")"));
  EXPECT_TRUE(has(r.body, R"("session":"Busy/InACall")")) << r.body;
  EXPECT_TRUE(has(r.body, R"("holds":[{"direction":"teams_to_connect",)"
                          R"("value":"Busy/InAMeeting","due":")"));
  EXPECT_TRUE(has(r.body, R"("due_in_ms":2000})"));
  EXPECT_TRUE(has(r.body, R"("deferred":true)"));
  EXPECT_TRUE(has(r.body, R"("decision":"propagated","direction":)"
                          R"("connect_to_teams","detail":"Teams session set )"
                          R"(to Busy/InACall"})"));
}

TEST_F(ApiDirectory, APersonAsTextIsWhatExplainPrints) {
  auto r = run(get("/v1/tenants/t1/people/g-ada?format=text", "Bearer tok"));

  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers.find("Content-Type"), "text/plain; charset=utf-8");
  EXPECT_TRUE(r.body.starts_with("Ada Agent (g-ada)\n")) << r.body;
  EXPECT_TRUE(has(r.body, "  session:  presync's Teams session shows "
                          "Busy/InACall\n"));
  EXPECT_TRUE(has(r.body, "  hold:     Teams -> Connect Busy/InAMeeting in "
                          "2s\n"));
  EXPECT_TRUE(has(r.body, "  propagated  connect_to_teams  Teams session set "
                          "to Busy/InACall\n"));
}

TEST_F(ApiDirectory, APersonTheActorsDoNotKnowStillShowsTheDirectory) {
  auto r = run(get("/v1/tenants/t1/people/c-zed", "Bearer tok"));

  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(has(r.body, R"("sync":null,"sync_error":")")) << r.body;
}

TEST_F(ApiDirectory, UnknownPersonAndBadPersonInput) {
  EXPECT_EQ(run(get("/v1/tenants/t1/people/nobody", "Bearer tok")).status, 404);
  EXPECT_EQ(
    field_of(run(get("/v1/tenants/t1/people/g-ada?format=xml", "Bearer tok"))),
    "format");
  EXPECT_EQ(field_of(run(get("/v1/tenants/t1/people/%zz", "Bearer tok"))),
            "id");
  EXPECT_EQ(run(request("POST", "/v1/tenants/t1/people/g-ada")).status, 405);
}

TEST_F(ApiDirectory, ACallGoesOutWithFlowQueueTargetAndToken) {
  auto r = post_call(R"({"agent":"BO@example.com","person":"g-ada",)"
                     R"("client_token":"tok-1"})");

  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.body, R"({"contact_id":"contact-1","agent":"c-bo","person":)"
                    R"("g-ada","number":"+14255550101","client_token":)"
                    R"("tok-1"})");
  ASSERT_EQ(calls_.size(), 1u);
  const auto& c = calls_[0];
  EXPECT_EQ(c.destination_phone_number, "+14255550101");
  EXPECT_EQ(c.contact_flow_id, "00000000-0000-0000-0000-0000000000d1");
  EXPECT_EQ(c.queue_id, "00000000-0000-0000-0000-0000000000e1");
  EXPECT_EQ(c.instance_id, "00000000-0000-0000-0000-0000000000aa");
  EXPECT_EQ(c.client_token, "tok-1");
  EXPECT_EQ(c.attributes.at("presync_target_person"), "g-ada");
  EXPECT_EQ(c.attributes.at("presync_target_name"), "Ada Agent");
  EXPECT_EQ(c.attributes.at("presync_agent_id"), "c-bo");
}

TEST_F(ApiDirectory, WithoutAClientTokenADoubleClickIsOneCall) {
  auto a = post_call(R"({"agent":"c-bo","person":"g-ada"})");
  auto b = post_call(R"({"agent":"c-bo","person":"g-ada"})");

  ASSERT_EQ(calls_.size(), 2u);
  EXPECT_EQ(a.status, 201);
  EXPECT_TRUE(calls_[0].client_token.starts_with("presync-"));
  EXPECT_EQ(calls_[0].client_token, calls_[1].client_token);
}

TEST_F(ApiDirectory, APersonWithoutANumberIsRefusedWithTheReason) {
  auto r = post_call(R"({"agent":"c-bo","person":"g-olivia"})");

  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(r.body, R"({"error":"this person has no dialable number",)"
                    R"("reason":"Teams: no businessPhones or mobilePhone"})");
  EXPECT_TRUE(calls_.empty());
}

TEST_F(ApiDirectory, ACallRefusesBadInputNamingTheField) {
  struct bad_case {
    std::string body;
    std::string field;
  };
  for (const auto& c : std::vector<bad_case>{
         {"", "body"},
         {"[1]", "body"},
         {R"({"agent":"c-bo","person":"g-ada"} x)", "body"},
         {R"({"person":"g-ada"})", "agent"},
         {R"({"agent":"c-bo"})", "person"},
         {R"({"agent":7,"person":"g-ada"})", "agent"},
         {R"({"agent":"c-bo","person":"g-ada","extra":"x"})", "extra"},
         {R"({"agent":"c-bo","agent":"c-ada","person":"g-ada"})", "agent"},
         {R"({"agent":"c-bo","person":"g-ada","client_token":"a b"})",
          "client_token"},
         {R"({"agent":"nobody","person":"g-ada"})", "agent"},
       }) {
    auto r = post_call(c.body);
    EXPECT_EQ(r.status, 400) << c.body << " " << r.body;
    EXPECT_EQ(field_of(r), c.field) << c.body << " " << r.body;
  }
  EXPECT_EQ(post_call(R"({"agent":"c-bo","person":"nobody"})").status, 404);
  auto form = request("POST", "/v1/tenants/t1/calls", "agent=c-bo",
                      "application/x-www-form-urlencoded");
  EXPECT_EQ(run(form).status, 415);
  EXPECT_EQ(run(get("/v1/tenants/t1/calls", "Bearer tok")).status, 405);
  EXPECT_TRUE(calls_.empty());
}

TEST_F(ApiDirectory, WithoutAnOutboundFlowCallsAreNotConfigured) {
  config::connect_config unset;
  dir().set_calls(unset);

  auto r = post_call(R"({"agent":"c-bo","person":"g-ada"})");

  EXPECT_EQ(r.status, 503);
  EXPECT_TRUE(has(r.body, "connect.outbound_contact_flow_id"));
  EXPECT_TRUE(calls_.empty());
}

TEST_F(ApiDirectory, ThrottledCallsAre429WithRetryAfter) {
  auto e = make_error(sync_error::throttled, "connect limiter");
  e.retry_after = std::chrono::milliseconds{2500};
  dial_error_ = e;

  auto r = post_call(R"({"agent":"c-bo","person":"g-ada"})");

  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.headers.find("Retry-After"), "2");
}

TEST_F(ApiDirectory, ConnectRefusingTheCallIs502) {
  dial_error_ =
    make_error(sync_error::forbidden,
               "StartOutboundVoiceContact: DestinationNotAllowed", 403);

  auto r = post_call(R"({"agent":"c-bo","person":"g-ada"})");

  EXPECT_EQ(r.status, 502);
  EXPECT_TRUE(has(r.body, "DestinationNotAllowed"));
}

TEST_F(ApiDirectory, RouteFindsTheAgentOfADeskPhoneOrMappedExtension) {
  dir().board().seed("g-bo", live_state{std::nullopt, "Available", 1});

  auto desk =
    run(get("/v1/tenants/t1/route?number=%2B1+(425)+555-0202", "Bearer tok"));
  auto ext =
    run(get("/v1/tenants/t1/route?number=%2B14255550300&ext=12", "Bearer tok"));
  auto inline_ext =
    run(get("/v1/tenants/t1/route?number=%2B14255550300x12", "Bearer tok"));

  EXPECT_EQ(desk.status, 200);
  EXPECT_EQ(desk.body,
            R"({"number":"+14255550202","extension":null,"agent":{"id":)"
            R"("c-bo","arn":"arn:aws:connect:::agent/c-bo","username":)"
            R"("bo@example.com","state":"Available"},"person":"g-bo",)"
            R"("source":"connect"})");
  EXPECT_TRUE(has(ext.body, R"("agent":{"id":"c-zed")")) << ext.body;
  EXPECT_TRUE(has(ext.body, R"("source":"mapping")"));
  EXPECT_EQ(inline_ext.body, ext.body);
}

TEST_F(ApiDirectory, RouteSays404WithAReasonAnd400ForBadInput) {
  auto unknown =
    run(get("/v1/tenants/t1/route?number=%2B14255550777", "Bearer tok"));
  auto wrong_ext =
    run(get("/v1/tenants/t1/route?number=%2B14255550300&ext=99", "Bearer tok"));

  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.body, R"({"error":"not found","reason":"no agent has )"
                          R"(this direct number","number":"+14255550777",)"
                          R"("extension":null})");
  EXPECT_TRUE(has(wrong_ext.body, "no agent has this extension"));
  EXPECT_EQ(field_of(run(get("/v1/tenants/t1/route", "Bearer tok"))), "number");
  EXPECT_EQ(
    field_of(run(get("/v1/tenants/t1/route?number=hello", "Bearer tok"))),
    "number");
  EXPECT_EQ(field_of(run(get("/v1/tenants/t1/route?number=%2B14255550300"
                             "&ext=1a",
                             "Bearer tok"))),
            "ext");
  EXPECT_EQ(field_of(run(get("/v1/tenants/t1/route?number=%2B14255550300x12"
                             "&ext=13",
                             "Bearer tok"))),
            "ext");
}

TEST_F(ApiDirectory, CorsAnswersTheConfiguredOriginOnly) {
  auto preflight = [&](std::string origin) {
    http::server_request r;
    r.method = "OPTIONS";
    r.target = "/v1/tenants/t1/calls";
    r.headers.add("Origin", std::move(origin));
    r.headers.add("Access-Control-Request-Method", "POST");
    return run(r);
  };
  auto ok = preflight("https://desk.example.com");
  auto refused = preflight("https://evil.example.com");
  auto read = get("/v1/tenants/t1/directory", "Bearer tok");
  read.headers.add("Origin", "https://desk.example.com");
  auto other = get("/v1/tenants/t1/directory", "Bearer tok");
  other.headers.add("Origin", "https://evil.example.com");

  EXPECT_EQ(ok.status, 204);
  EXPECT_EQ(ok.headers.find("Access-Control-Allow-Origin"),
            "https://desk.example.com");
  EXPECT_TRUE(has(std::string{*ok.headers.find("Access-Control-Allow-Headers")},
                  "Authorization"));
  EXPECT_EQ(refused.status, 403);
  EXPECT_FALSE(refused.headers.contains("Access-Control-Allow-Origin"));
  EXPECT_EQ(run(read).headers.find("Access-Control-Allow-Origin"),
            "https://desk.example.com");
  EXPECT_FALSE(run(other).headers.contains("Access-Control-Allow-Origin"));
}

TEST_F(ApiDirectory, EventsNeedAStreamingServer) {
  auto r = run(get("/v1/tenants/t1/directory/events", "Bearer tok"));
  auto bad = run(get("/v1/tenants/t1/directory/events?since=1", "Bearer tok"));

  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(field_of(bad), "since");
}

TEST(ApiUi, ServesThePageAndNothingOutsideIt) {
  std::vector<std::unique_ptr<tenant_runtime>> none;
  api_context ctx;
  ctx.tenants = &none;
  ctx.tokens = {};

  auto index = handle_api(ctx, get("/ui/"));
  auto script = handle_api(ctx, get("/ui/app.js"));
  auto bare = handle_api(ctx, get("/ui"));
  auto root = handle_api(ctx, get("/"));

  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(index.headers.find("Content-Type"), "text/html; charset=utf-8");
  EXPECT_TRUE(has(index.body, "<title>presync"));
  EXPECT_TRUE(has(std::string{*index.headers.find("Content-Security-Policy")},
                  "default-src 'self'"));
  EXPECT_EQ(script.headers.find("Content-Type"),
            "text/javascript; charset=utf-8");
  EXPECT_EQ(bare.status, 301);
  EXPECT_EQ(root.status, 302);
  for (auto target :
       {"/ui/../app/api.cpp", "/ui/%2e%2e/CMakeLists.txt", "/ui/./index.html",
        "/ui//etc/passwd", "/ui/CMakeLists.txt", "/ui/embed.cmake",
        "/ui/index.html/"}) {
    EXPECT_EQ(handle_api(ctx, get(target)).status, 404) << target;
  }
}

} // namespace
} // namespace presync::app
