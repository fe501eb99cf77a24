#include "fuzz/targets.hpp"

#include "adapters/log/log.hpp"
#include "app/api.hpp"
#include "app/directory_snapshot.hpp"
#include "app/tenant_directory.hpp"

#include <caf/all.hpp>
#include <simdjson.h>

#include <memory>
#include <string>
#include <vector>

namespace presync::fuzz {

namespace {

/// One tenant "t1" with a small directory: Ada (both sides, dialable),
/// Bo (Connect desk phone), Olivia (Teams only) and agent Zed; person
/// queries and calls are answered at once by fakes, so every route runs
/// to its end without a network.
class api_world {
 public:
  api_world() {
    log::set_level(log::level::error);
    config::tenant_config tc;
    tc.id = "t1";
    tc.connect.instance_id = "00000000-0000-0000-0000-0000000000aa";
    tc.connect.outbound_contact_flow_id =
      "00000000-0000-0000-0000-0000000000d1";
    tc.connect.outbound_queue_id = "00000000-0000-0000-0000-0000000000e1";
    tenants_.push_back(std::make_unique<app::tenant_runtime>(
      sys_, tc, nullptr, [](std::string_view) { return std::nullopt; }));
    dir_ = std::make_unique<app::tenant_directory>("t1", tc.connect);
    ctx.tenants = &tenants_;
    ctx.directory_of = [this](const app::tenant_runtime&) {
      return dir_.get();
    };
    ctx.tokens = app::parse_api_tokens("tok");
    ctx.cors_origins = {"https://desk.example.com"};
    dir_->publish(app::build_directory_snapshot(sample(), 1));
    dir_->board().seed(
      "g-ada", app::live_state{presence{"Busy", "InACall"}, "OnContact", 1});
    dir_->set_person_query([](const std::string& id, auto done) {
      app::person_detail d;
      d.view.id = id;
      d.view.connect_state = "OnContact";
      done(std::move(d));
    });
    dir_->set_dialer(
      [](const connect::outbound_voice_contact& c) -> expected<std::string> {
        if (c.client_token.starts_with("busy")) {
          return make_error(sync_error::throttled, "fuzz: busy");
        }
        return std::string{"contact-1"};
      });
  }

  app::api_context ctx;

 private:
  static app::directory_inputs sample() {
    app::directory_inputs in;
    auto teams = [&](std::string id, std::string name,
                     std::optional<std::string> phone) {
      graph::directory_entry e;
      e.id = id;
      e.phone_e164 = phone;
      e.phone_from =
        phone ? graph::phone_source::business : graph::phone_source::none;
      e.not_dialable_reason = phone ? "" : "no businessPhones or mobilePhone";
      in.teams_entries[id] = e;
      auto upn =
        app::lower_ascii(name.substr(0, name.find(' '))) + "@example.com";
      in.teams.push_back(teams_account{id, upn, upn, name});
    };
    teams("g-ada", "Ada Agent", "+14255550101");
    teams("g-bo", "Bo Agent", std::nullopt);
    teams("g-olivia", "Olivia Office", std::nullopt);
    auto agent = [&](std::string id, std::string username, std::string desk) {
      app::connect_user_info u;
      u.summary = {id, "arn:aws:connect:::agent/" + id, username, 0, ""};
      connect::user_details d;
      d.id = id;
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

  caf::actor_system_config cfg_;
  caf::actor_system sys_{cfg_};
  std::vector<std::unique_ptr<app::tenant_runtime>> tenants_;
  std::unique_ptr<app::tenant_directory> dir_;
};

std::string_view next_line(std::string_view& rest) {
  auto end = rest.find('\n');
  auto line = rest.substr(0, end);
  rest = end == std::string_view::npos ? "" : rest.substr(end + 1);
  if (!line.empty() && line.back() == '\r') {
    line.remove_suffix(1);
  }
  return line;
}

} // namespace

void api(std::string_view data) {
  // Built once and never destroyed: CAF's actor system must not be torn
  // down among other static objects at exit.
  static auto& world = *new api_world;

  http::server_request req;
  auto first = next_line(data);
  auto sp = first.find(' ');
  req.method = std::string{first.substr(0, sp)};
  req.target = sp == std::string_view::npos ? std::string{"/"}
                                            : std::string{first.substr(sp + 1)};
  while (!data.empty()) {
    auto line = next_line(data);
    if (line.empty()) {
      break;
    }
    auto colon = line.find(':');
    auto value = colon == std::string_view::npos ? std::string_view{}
                                                 : line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') {
      value.remove_prefix(1);
    }
    req.headers.add(std::string{line.substr(0, colon)}, std::string{value});
  }
  if (!req.headers.contains("Authorization")) {
    req.headers.add("Authorization", "Bearer tok");
  }
  req.body = std::string{data};
  req.peer = "127.0.0.1:1";

  auto answer = app::handle_api(world.ctx, req);
  if (answer.status < 200 || answer.status > 599) {
    __builtin_trap(); // every request gets a real HTTP status
  }

  // A JSON answer is valid JSON (UTF-8 included), whatever was asked.
  auto type = answer.headers.find("Content-Type");
  if ((!type || type->starts_with("application/json")) &&
      !answer.body.empty()) {
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    if (parser.parse(answer.body).get(doc) != simdjson::SUCCESS) {
      __builtin_trap();
    }
  }
}

} // namespace presync::fuzz
