#include "app/explain_cmd.hpp"

#include "adapters/http/client.hpp"
#include "app/api.hpp"

#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <string_view>

namespace presync::app {

namespace {

constexpr const char* usage = R"(usage: presync explain --person ID [OPTIONS]

Asks the running service why a person shows what it shows: both sides'
state, presync's Teams session, pending holds and deferrals, and the
decision journal. It prints the answer of
GET /v1/tenants/TENANT/people/ID?format=text (--json: the JSON answer).

options:
  --person ID       the person (Graph id, or Connect user id for agents
                    without Teams); required
  --tenant T        the tenant; default: the only one the service runs
  --url URL         the service, e.g. http://127.0.0.1:8080
  --config FILE     read server.listen and server.api_tokens_env from the
                    config file of the service
  --json            print the JSON answer

Finding the service: --url, else the environment variable PRESYNC_URL, else
server.listen of --config FILE (0.0.0.0 and [::] are asked on loopback),
else http://127.0.0.1:8080. The bearer token: PRESYNC_API_TOKEN, else the
first token of the variable that server.api_tokens_env names
(PRESYNC_API_TOKENS by default).

exit status: 0 printed, 1 the service answered with an error (unknown
person or tenant, bad token), 2 usage error or the service cannot be reached
)";

std::string percent_encode(std::string_view text) {
  std::string out;
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
                 c == '~';
    if (plain) {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

/// Reads server.listen and server.api_tokens_env; the rest of the file is
/// not validated here (check-config does that).
void read_server_section(const std::string& file, std::string& listen,
                         std::string& tokens_env) {
  try {
    auto root = YAML::LoadFile(file);
    auto server = root["server"];
    if (server && server["listen"]) {
      listen = server["listen"].as<std::string>();
    }
    if (server && server["api_tokens_env"]) {
      tokens_env = server["api_tokens_env"].as<std::string>();
    }
  } catch (const YAML::Exception&) {
    // Unreadable: fall back to the defaults.
  }
}

expected<http::http_response> get(http::client& c, const service_address& where,
                                  const std::string& path) {
  http::http_request req;
  req.url = where.url + path;
  req.headers.add("Authorization", "Bearer " + where.token);
  http::request_options opts;
  opts.connect_timeout = std::chrono::seconds{5};
  opts.read_timeout = std::chrono::seconds{15};
  opts.total_timeout = std::chrono::seconds{20};
  return c.send(std::move(req), opts);
}

} // namespace

service_address find_service(const std::optional<std::string>& url,
                             const std::optional<std::string>& config_file,
                             const config::env_lookup& env) {
  service_address out;
  std::string listen;
  std::string tokens_env = "PRESYNC_API_TOKENS";
  if (config_file) {
    read_server_section(*config_file, listen, tokens_env);
  }

  if (url) {
    out.url = *url;
  } else if (auto from_env = env("PRESYNC_URL")) {
    out.url = *from_env;
  } else if (!listen.empty()) {
    auto colon = listen.rfind(':');
    auto host = listen.substr(0, colon);
    auto port = colon == std::string::npos ? "8080" : listen.substr(colon + 1);
    if (host == "0.0.0.0" || host.empty()) {
      host = "127.0.0.1";
    } else if (host == "[::]" || host == "::") {
      host = "[::1]";
    } else if (host.find(':') != std::string::npos && host.front() != '[') {
      host = "[" + host + "]";
    }
    out.url = "http://" + host + ":" + port;
  } else {
    out.url = "http://127.0.0.1:8080";
  }
  while (!out.url.empty() && out.url.back() == '/') {
    out.url.pop_back();
  }

  if (auto t = env("PRESYNC_API_TOKEN")) {
    out.token = *t;
  } else if (auto list = env(tokens_env)) {
    auto tokens = parse_api_tokens(*list);
    if (!tokens.empty()) {
      out.token = tokens.front().reveal();
    }
  }
  return out;
}

int explain_main(int argc, char** argv) {
  std::optional<std::string> person, tenant, url, config_file;
  bool json = false;
  for (int i = 0; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value = [&]() -> std::optional<std::string> {
      if (i + 1 < argc) {
        return std::string{argv[++i]};
      }
      return std::nullopt;
    };
    if (arg == "--help" || arg == "-h") {
      std::fputs(usage, stdout);
      return 0;
    }
    if (arg == "--person") {
      person = value();
    } else if (arg == "--tenant") {
      tenant = value();
    } else if (arg == "--url") {
      url = value();
    } else if (arg == "--config") {
      config_file = value();
    } else if (arg == "--json") {
      json = true;
    } else {
      std::fprintf(stderr, "presync explain: unexpected argument '%s'\n\n%s",
                   argv[i], usage);
      return 2;
    }
  }
  if (!person || person->empty()) {
    std::fputs(usage, stderr);
    return 2;
  }

  auto where = find_service(url, config_file, config::process_environment());
  if (where.token.empty()) {
    std::fputs("presync explain: no API token: set PRESYNC_API_TOKEN\n",
               stderr);
    return 2;
  }
  http::client_config cc;
  cc.env = http::empty_environment(); // the service is local: no proxy
  auto made = http::client::make(cc);
  if (!made) {
    std::fprintf(stderr, "presync explain: %s\n",
                 made.err().describe().c_str());
    return 2;
  }
  auto& client = **made;

  // Without --tenant, the service's only tenant.
  if (!tenant) {
    auto list = get(client, where, "/v1/tenants?format=text");
    if (!list) {
      std::fprintf(stderr, "presync explain: cannot reach %s: %s\n",
                   where.url.c_str(), list.err().describe().c_str());
      return 2;
    }
    if (list->status != 200) {
      std::fprintf(stderr, "presync explain: %s answered %d: %s\n",
                   where.url.c_str(), list->status, list->body.c_str());
      return 1;
    }
    // One tenant a line: "id ready" or "id starting".
    std::vector<std::string> ids;
    std::string_view body = list->body;
    while (!body.empty()) {
      auto nl = body.find('\n');
      auto line = body.substr(0, nl);
      body = nl == std::string_view::npos ? "" : body.substr(nl + 1);
      if (!line.empty()) {
        ids.emplace_back(line.substr(0, line.find(' ')));
      }
    }
    if (ids.size() != 1) {
      std::fprintf(stderr,
                   "presync explain: the service runs %zu tenants; name one "
                   "with --tenant\n",
                   ids.size());
      return 2;
    }
    tenant = ids.front();
  }

  auto path = "/v1/tenants/" + percent_encode(*tenant) + "/people/" +
              percent_encode(*person) + (json ? "" : "?format=text");
  auto answer = get(client, where, path);
  if (!answer) {
    std::fprintf(stderr, "presync explain: cannot reach %s: %s\n",
                 where.url.c_str(), answer.err().describe().c_str());
    return 2;
  }
  if (answer->status != 200) {
    std::fprintf(stderr, "presync explain: %d %s\n", answer->status,
                 answer->body.c_str());
    return 1;
  }
  std::fputs(answer->body.c_str(), stdout);
  if (json) {
    std::fputc('\n', stdout);
  }
  return 0;
}

} // namespace presync::app
