#include "config/config.hpp"

#include "config/did_mapping.hpp"
#include "config/internal/yaml_reader.hpp"
#include "protocol/time.hpp"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace presync::config {

namespace {

using internal::entry;
using internal::reader;
using internal::where;

constexpr std::array<std::string_view, 6> top_keys = {
  "tenants", "actors", "server", "metrics", "log", "store",
};
constexpr std::array<std::string_view, 4> actor_keys = {
  "scheduler_threads",
  "scheduler_policy",
  "throughput",
  "rest_after",
};
constexpr std::array<std::string_view, 5> server_keys = {
  "listen", "api_tokens_env", "cors_origins", "shutdown_grace", "read_timeout",
};
constexpr std::array<std::string_view, 1> metrics_keys = {"listen"};
constexpr std::array<std::string_view, 1> log_keys = {"level"};
constexpr std::array<std::string_view, 1> store_keys = {"path"};
constexpr std::array<std::string_view, 5> tenant_keys = {
  "id", "graph", "connect", "identity", "sync",
};
constexpr std::array<std::string_view, 10> graph_keys = {
  "tenant_id",
  "client_id",
  "client_secret_env",
  "login_endpoint",
  "graph_endpoint",
  "ca_file",
  "presence_requests_per_window",
  "presence_window",
  "directory_requests_per_second",
  "write_gather",
};
constexpr std::array<std::string_view, 13> connect_keys = {
  "instance_id",
  "region",
  "endpoint",
  "kinesis_endpoint",
  "sts_endpoint",
  "stream_name",
  "outbound_contact_flow_id",
  "outbound_queue_id",
  "did_mapping_file",
  "requests_per_second",
  "burst",
  "agent_statuses",
  "credentials",
};
constexpr std::array<std::string_view, 2> identity_keys = {
  "match_order",
  "mapping_file",
};

constexpr std::array<std::string_view, 2> policy_names = {"stealing",
                                                          "sharing"};
constexpr std::array<std::string_view, 4> level_names = {"debug", "info",
                                                         "warning", "error"};
constexpr std::array<std::string_view, 3> credential_names = {
  "env", "web_identity", "container"};
constexpr std::array<std::string_view, 3> match_key_names = {"upn", "mail",
                                                             "username"};

template <class Enum, std::size_t N>
Enum enum_at(const std::array<std::string_view, N>& names,
             const std::string& name) {
  auto it = std::find(names.begin(), names.end(), name);
  return static_cast<Enum>(it - names.begin());
}

bool is_lower_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
         (c >= 'A' && c <= 'F');
}

bool is_guid(std::string_view s) {
  if (s.size() != 36) {
    return false;
  }
  for (std::size_t i = 0; i < s.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !is_hex(s[i])) {
      return false;
    }
  }
  return true;
}

bool is_domain(std::string_view s) {
  if (s.empty() || s.find('.') == std::string_view::npos) {
    return false;
  }
  return std::all_of(s.begin(), s.end(), [](char c) {
    return is_lower_alnum(c) || (c >= 'A' && c <= 'Z') || c == '-' || c == '.';
  });
}

// An AWS region such as eu-west-2 or us-gov-west-1.
bool is_region(std::string_view s) {
  if (s.size() < 4 || s.back() < '0' || s.back() > '9') {
    return false;
  }
  return s.find('-') != std::string_view::npos &&
         std::all_of(s.begin(), s.end(),
                     [](char c) { return is_lower_alnum(c) || c == '-'; });
}

bool is_env_name(std::string_view s) {
  if (s.empty() || (s[0] >= '0' && s[0] <= '9')) {
    return false;
  }
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '_';
  });
}

bool is_loopback_host(std::string_view host) {
  return host == "127.0.0.1" || host == "[::1]" || host == "localhost";
}

/// Splits "scheme://host[:port]/rest" into scheme and authority host.
struct url_parts {
  std::string scheme;
  std::string host; ///< without the port; IPv6 keeps its brackets
  std::string rest; ///< from the first `/` after the authority
};

std::optional<url_parts> split_url(std::string_view url) {
  auto sep = url.find("://");
  if (sep == std::string_view::npos || sep == 0) {
    return std::nullopt;
  }
  url_parts out;
  out.scheme = std::string{url.substr(0, sep)};
  auto rest = url.substr(sep + 3);
  auto slash = rest.find('/');
  auto authority = rest.substr(0, slash);
  out.rest = slash == std::string_view::npos ? "" : rest.substr(slash);
  auto colon = authority.rfind(':');
  bool v6 = !authority.empty() && authority[0] == '[';
  if (colon != std::string_view::npos && (!v6 || authority.find(']') < colon)) {
    out.host = std::string{authority.substr(0, colon)};
  } else {
    out.host = std::string{authority};
  }
  if (out.host.empty()) {
    return std::nullopt;
  }
  return out;
}

std::vector<std::string> split_tokens(const std::string& value) {
  std::vector<std::string> out;
  std::stringstream in{value};
  std::string token;
  while (std::getline(in, token, ',')) {
    auto b = token.find_first_not_of(" \t");
    auto e = token.find_last_not_of(" \t");
    if (b != std::string::npos) {
      out.push_back(token.substr(b, e - b + 1));
    }
  }
  return out;
}

/// Reads the file, one member function per section.
class loader {
 public:
  loader(diagnostics& diags, const env_lookup& env) : r_(diags), env_(env) {}

  std::optional<presync_config> load(const YAML::Node& root) {
    presync_config out;
    where at{"", internal::line_of(root)};
    if (!root.IsMap()) {
      r_.error(at, "expected a map with the keys " + internal::join(top_keys) +
                     ", got " + internal::describe(root));
      return std::nullopt;
    }

    bool tenants_seen = false;
    r_.for_each_key(root, at, top_keys, [&](const entry& e) {
      if (e.key == "tenants") {
        tenants_seen = true;
        parse_tenants(e, out.tenants);
      } else if (e.key == "actors") {
        parse_actors(e, out.actors);
      } else if (e.key == "server") {
        parse_server(e, out.server);
      } else if (e.key == "metrics") {
        parse_metrics(e, out.metrics);
      } else if (e.key == "log") {
        parse_log(e, out.log);
      } else {
        parse_store(e, out.store);
      }
    });
    if (!tenants_seen) {
      r_.error(at.key("tenants", at.line), "required key is missing");
    }
    if (!server_seen_) {
      check_api_tokens(out.server);
    }

    if (r_.diags().has_errors()) {
      return std::nullopt;
    }
    return out;
  }

 private:
  // -- process-wide sections ------------------------------------------------

  void parse_actors(const entry& s, actors_config& out) {
    r_.for_each_key(s.value, s.at, actor_keys, [&](const entry& e) {
      if (e.key == "scheduler_threads") {
        internal::assign(out.scheduler_threads,
                         r_.integer(e.value, e.at, 0, 1024));
      } else if (e.key == "scheduler_policy") {
        if (auto p = r_.one_of(e.value, e.at, policy_names)) {
          out.scheduler_policy =
            enum_at<actors_config::policy>(policy_names, *p);
        }
      } else if (e.key == "rest_after") {
        internal::assign(out.rest_after, read_rest_after(e));
      } else {
        internal::assign(out.throughput,
                         r_.integer(e.value, e.at, 1, 1'000'000));
      }
    });
  }

  void parse_server(const entry& s, server_config& out) {
    api_tokens_at_ = s.at.key("api_tokens_env", s.at.line);
    r_.for_each_key(s.value, s.at, server_keys, [&](const entry& e) {
      if (e.key == "listen") {
        internal::assign(out.listen, read_listen(e));
      } else if (e.key == "api_tokens_env") {
        api_tokens_at_ = e.at;
        internal::assign(out.api_tokens_env, read_env_name(e));
      } else if (e.key == "shutdown_grace") {
        internal::assign(out.shutdown_grace, read_positive_duration(e));
      } else if (e.key == "read_timeout") {
        // Below a second a slow but honest client on a busy link fails;
        // above five minutes a silent one holds a connection slot too long.
        internal::assign(out.read_timeout,
                         read_duration_in(e, std::chrono::seconds{1},
                                          std::chrono::seconds{300}));
      } else {
        internal::assign(out.cors_origins, read_origins(e));
      }
    });
    server_seen_ = true;
    check_api_tokens(out);
  }

  void parse_metrics(const entry& s, metrics_config& out) {
    r_.for_each_key(s.value, s.at, metrics_keys, [&](const entry& e) {
      internal::assign(out.listen, read_listen(e));
    });
  }

  void parse_log(const entry& s, log_config& out) {
    r_.for_each_key(s.value, s.at, log_keys, [&](const entry& e) {
      if (auto l = r_.one_of(e.value, e.at, level_names)) {
        out.min_level = enum_at<log_config::level>(level_names, *l);
      }
    });
  }

  void parse_store(const entry& s, store_config& out) {
    r_.for_each_key(s.value, s.at, store_keys, [&](const entry& e) {
      internal::assign(out.path, r_.text(e.value, e.at));
    });
  }

  // -- tenants --------------------------------------------------------------

  void parse_tenants(const entry& s, std::vector<tenant_config>& out) {
    if (!s.value.IsSequence() || s.value.size() == 0) {
      r_.error(s.at, "expected a list of at least one tenant, got " +
                       internal::describe(s.value));
      return;
    }
    std::vector<std::pair<std::string, int>> ids;
    for (std::size_t i = 0; i < s.value.size(); ++i) {
      auto node = s.value[i];
      auto at = s.at.item(i, internal::line_of(node));
      tenant_config t;
      if (!parse_tenant(node, at, t)) {
        continue;
      }
      auto same = std::find_if(ids.begin(), ids.end(),
                               [&](auto& p) { return p.first == t.id; });
      if (same != ids.end()) {
        r_.error(id_at_, "duplicate tenant id " + t.id +
                           "; first used on line " +
                           std::to_string(same->second));
      } else if (!t.id.empty()) {
        ids.emplace_back(t.id, id_at_.line);
      }
      out.push_back(std::move(t));
    }
  }

  bool parse_tenant(const YAML::Node& node, const where& at,
                    tenant_config& out) {
    // Collect the sections first: sync needs connect's status catalogue
    // whatever order the file lists them in.
    std::optional<entry> id, graph, connect, identity, sync;
    bool is_map = r_.for_each_key(node, at, tenant_keys, [&](const entry& e) {
      auto& slot = e.key == "id"         ? id
                   : e.key == "graph"    ? graph
                   : e.key == "connect"  ? connect
                   : e.key == "identity" ? identity
                                         : sync;
      slot = e;
    });
    if (!is_map) {
      return false;
    }

    id_at_ = id ? id->at : at.key("id", at.line);
    if (!id) {
      r_.error(id_at_, "required key is missing");
    } else {
      internal::assign(out.id, read_tenant_id(*id));
    }
    required(graph, at.key("graph", at.line),
             [&](const entry& e) { parse_graph(e, out.graph); });
    required(connect, at.key("connect", at.line),
             [&](const entry& e) { parse_connect(e, out.connect); });
    if (identity) {
      parse_identity(*identity, out.identity);
    }
    if (sync) {
      known_states states{out.connect.agent_statuses};
      out.sync = parse_sync(sync->value, sync->at.path, r_.diags(), &states);
    }
    return true;
  }

  std::optional<std::string> read_tenant_id(const entry& e) {
    auto id = r_.text(e.value, e.at);
    if (!id) {
      return std::nullopt;
    }
    bool ok = id->size() <= 63 &&
              std::all_of(id->begin(), id->end(),
                          [](char c) { return is_lower_alnum(c) || c == '-'; });
    if (!ok) {
      r_.error(e.at, "expected lower-case letters, digits and -, at most 63 "
                     "characters, got " +
                       internal::describe(e.value));
      return std::nullopt;
    }
    return id;
  }

  void parse_graph(const entry& s, graph_config& out) {
    std::set<std::string> seen;
    r_.for_each_key(s.value, s.at, graph_keys, [&](const entry& e) {
      seen.insert(e.key);
      if (e.key == "tenant_id") {
        internal::assign(out.tenant_id, read_entra_tenant(e));
      } else if (e.key == "client_id") {
        internal::assign(out.client_id, read_guid(e));
      } else if (e.key == "client_secret_env") {
        auto name = read_env_name(e);
        if (name) {
          out.client_secret_env = *name;
          check_secret_set(*name, e.at);
        }
      } else if (e.key == "login_endpoint") {
        internal::assign(out.login_endpoint, read_endpoint(e));
      } else if (e.key == "graph_endpoint") {
        internal::assign(out.graph_endpoint, read_endpoint(e));
      } else if (e.key == "ca_file") {
        internal::assign(out.ca_file, read_existing_file(e));
      } else if (e.key == "presence_requests_per_window") {
        internal::assign(out.presence_requests_per_window,
                         r_.integer(e.value, e.at, 1, 100'000));
      } else if (e.key == "presence_window") {
        internal::assign(out.presence_window, read_positive_duration(e));
      } else if (e.key == "write_gather") {
        // Past 10 s a write waits longer than the hold before it.
        internal::assign(
          out.write_gather,
          read_duration_in(e, duration{0}, std::chrono::seconds{10}));
      } else {
        internal::assign(out.directory_requests_per_second,
                         r_.integer(e.value, e.at, 1, 10'000));
      }
    });
    require_keys(s, seen, {"tenant_id", "client_id", "client_secret_env"});
  }

  void parse_connect(const entry& s, connect_config& out) {
    std::set<std::string> seen;
    std::optional<where> burst_at;
    bool credentials_ok = true;
    where credentials_at = s.at.key("credentials", s.at.line);
    bool is_map =
      r_.for_each_key(s.value, s.at, connect_keys, [&](const entry& e) {
        seen.insert(e.key);
        if (e.key == "instance_id") {
          internal::assign(out.instance_id, read_guid(e));
        } else if (e.key == "region") {
          internal::assign(out.region, read_region(e));
        } else if (e.key == "endpoint") {
          internal::assign(out.endpoint, read_endpoint(e));
        } else if (e.key == "kinesis_endpoint") {
          internal::assign(out.kinesis_endpoint, read_endpoint(e));
        } else if (e.key == "sts_endpoint") {
          internal::assign(out.sts_endpoint, read_endpoint(e));
        } else if (e.key == "stream_name") {
          internal::assign(out.stream_name, r_.text(e.value, e.at));
        } else if (e.key == "outbound_contact_flow_id") {
          internal::assign(out.outbound_contact_flow_id, read_guid(e));
        } else if (e.key == "outbound_queue_id") {
          internal::assign(out.outbound_queue_id, read_guid(e));
        } else if (e.key == "did_mapping_file") {
          internal::assign(out.did_mapping_file, read_did_mapping_file(e));
        } else if (e.key == "requests_per_second") {
          internal::assign(out.requests_per_second,
                           r_.integer(e.value, e.at, 1, 1000));
        } else if (e.key == "burst") {
          burst_at = e.at;
          internal::assign(out.burst, r_.integer(e.value, e.at, 1, 10'000));
        } else if (e.key == "agent_statuses") {
          internal::assign(out.agent_statuses, read_statuses(e));
        } else {
          auto c = r_.one_of(e.value, e.at, credential_names);
          if (c) {
            out.credentials =
              enum_at<connect_config::credential_source>(credential_names, *c);
          }
          credentials_ok = c.has_value();
          credentials_at = e.at;
        }
      });
    if (!is_map) {
      return;
    }
    require_keys(s, seen, {"instance_id", "region", "stream_name"});

    if (out.burst < out.requests_per_second) {
      r_.error(burst_at ? *burst_at : s.at.key("burst", s.at.line),
               "burst (" + std::to_string(out.burst) +
                 ") must be at least requests_per_second (" +
                 std::to_string(out.requests_per_second) + ")");
    }
    if (!out.region.empty()) {
      fill_aws_endpoints(out);
    }
    if (credentials_ok) {
      check_aws_credentials(out.credentials, credentials_at);
    }
  }

  static void fill_aws_endpoints(connect_config& out) {
    auto def = [&](std::string& url, std::string_view service) {
      if (url.empty()) {
        url = "https://" + std::string{service} + "." + out.region +
              ".amazonaws.com";
      }
    };
    def(out.endpoint, "connect");
    def(out.kinesis_endpoint, "kinesis");
    def(out.sts_endpoint, "sts");
  }

  void parse_identity(const entry& s, identity_config& out) {
    r_.for_each_key(s.value, s.at, identity_keys, [&](const entry& e) {
      if (e.key == "match_order") {
        internal::assign(out.match_order, read_match_order(e));
      } else {
        internal::assign(out.mapping_file, read_existing_file(e));
      }
    });
  }

  // -- values ---------------------------------------------------------------

  template <class F>
  void required(const std::optional<entry>& e, const where& at, F parse) {
    if (e) {
      parse(*e);
    } else {
      r_.error(at, "required key is missing");
    }
  }

  void require_keys(const entry& s, const std::set<std::string>& seen,
                    std::initializer_list<std::string_view> keys) {
    if (!s.value.IsMap() && !s.value.IsNull()) {
      return; // already reported as the wrong type
    }
    for (auto k : keys) {
      if (seen.count(std::string{k}) == 0) {
        r_.error(s.at.key(k, s.at.line), "required key is missing");
      }
    }
  }

  std::optional<listen_address> read_listen(const entry& e) {
    auto text = r_.text(e.value, e.at);
    if (!text) {
      return std::nullopt;
    }
    auto colon = text->rfind(':');
    listen_address out;
    bool ok = colon != std::string::npos && colon > 0;
    if (ok) {
      out.host = text->substr(0, colon);
      if (out.host.front() == '[' && out.host.back() == ']') {
        out.host = out.host.substr(1, out.host.size() - 2);
      }
      auto port = text->substr(colon + 1);
      ok = !out.host.empty() && !port.empty() && port.size() <= 5 &&
           std::all_of(port.begin(), port.end(),
                       [](char c) { return c >= '0' && c <= '9'; }) &&
           std::stoi(port) <= 65535;
      if (ok) {
        out.port = static_cast<std::uint16_t>(std::stoi(port));
      }
    }
    if (!ok) {
      r_.error(e.at, "expected host:port like 0.0.0.0:8080 or [::1]:8080, "
                     "got " +
                       internal::describe(e.value));
      return std::nullopt;
    }
    return out;
  }

  /// Reads the NAME of an environment variable. The value given is never
  /// repeated in a message: it may be a secret pasted by mistake.
  std::optional<std::string> read_env_name(const entry& e) {
    if (e.value.IsScalar() && is_env_name(e.value.Scalar())) {
      return e.value.Scalar();
    }
    r_.error(e.at, "expected the name of an environment variable (letters, "
                   "digits and _), not the secret itself");
    return std::nullopt;
  }

  void check_secret_set(const std::string& name, const where& at) {
    auto value = env_(name);
    if (!value) {
      r_.error(at, "environment variable " + name + " is not set");
    } else if (value->empty()) {
      r_.error(at, "environment variable " + name + " is empty");
    }
  }

  void check_api_tokens(const server_config& server) {
    if (!is_env_name(server.api_tokens_env)) {
      return; // reported where it was read
    }
    auto at =
      api_tokens_at_ ? *api_tokens_at_ : where{"server.api_tokens_env", 0};
    auto value = env_(server.api_tokens_env);
    if (!value) {
      r_.error(at,
               "environment variable " + server.api_tokens_env + " is not set");
    } else if (split_tokens(*value).empty()) {
      r_.error(at, "environment variable " + server.api_tokens_env +
                     " holds no tokens (expected comma-separated tokens)");
    }
  }

  void check_aws_credentials(connect_config::credential_source source,
                             const where& at) {
    using cs = connect_config::credential_source;
    auto need = [&](std::string_view name) {
      if (!env_(name)) {
        r_.error(at, "credentials " +
                       std::string{
                         credential_names[static_cast<std::size_t>(source)]} +
                       " needs environment variable " + std::string{name} +
                       ", which is not set");
      }
    };
    if (source == cs::env) {
      need("AWS_ACCESS_KEY_ID");
      need("AWS_SECRET_ACCESS_KEY");
    } else if (source == cs::web_identity) {
      need("AWS_ROLE_ARN");
      need("AWS_WEB_IDENTITY_TOKEN_FILE");
    } else if (!env_("AWS_CONTAINER_CREDENTIALS_FULL_URI") &&
               !env_("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")) {
      r_.error(at, "credentials container needs environment variable "
                   "AWS_CONTAINER_CREDENTIALS_FULL_URI or "
                   "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, neither is set");
    }
  }

  /// Reads a base URL. Plain http is accepted for loopback hosts only, so
  /// tests can point presync at local mocks and nothing else goes in clear.
  std::optional<std::string> read_endpoint(const entry& e) {
    auto text = r_.text(e.value, e.at);
    if (!text) {
      return std::nullopt;
    }
    auto url = split_url(*text);
    if (!url || (url->scheme != "https" && url->scheme != "http")) {
      r_.error(e.at, "expected a URL like https://host[:port], got " +
                       internal::describe(e.value));
      return std::nullopt;
    }
    if (url->scheme == "http" && !is_loopback_host(url->host)) {
      r_.error(e.at, "plain http is allowed only for 127.0.0.1, [::1] and "
                     "localhost; use https");
      return std::nullopt;
    }
    while (!text->empty() && text->back() == '/') {
      text->pop_back();
    }
    return text;
  }

  std::optional<std::vector<std::string>> read_origins(const entry& e) {
    auto list = r_.text_list(e.value, e.at);
    if (!list) {
      return std::nullopt;
    }
    bool ok = true;
    for (std::size_t i = 0; i < list->size(); ++i) {
      const auto& origin = (*list)[i];
      auto url = split_url(origin);
      bool good =
        origin == "*" || (url && url->rest.empty() &&
                          (url->scheme == "https" || url->scheme == "http"));
      if (!good) {
        r_.error(e.at.item(i, internal::line_of(e.value[i])),
                 "expected an origin like https://desk.example.com (scheme, "
                 "host and optional port, no path) or *, got \"" +
                   origin + "\"");
        ok = false;
      }
    }
    return ok ? list : std::nullopt;
  }

  std::optional<std::string> read_guid(const entry& e) {
    auto text = r_.text(e.value, e.at);
    if (text && !is_guid(*text)) {
      r_.error(e.at, "expected an id like "
                     "00000000-0000-0000-0000-000000000000, got " +
                       internal::describe(e.value));
      return std::nullopt;
    }
    return text;
  }

  std::optional<std::string> read_entra_tenant(const entry& e) {
    auto text = r_.text(e.value, e.at);
    if (text && !is_guid(*text) && !is_domain(*text)) {
      r_.error(e.at, "expected a directory id like "
                     "00000000-0000-0000-0000-000000000000 or a domain like "
                     "contoso.onmicrosoft.com, got " +
                       internal::describe(e.value));
      return std::nullopt;
    }
    return text;
  }

  std::optional<std::string> read_region(const entry& e) {
    auto text = r_.text(e.value, e.at);
    if (text && !is_region(*text)) {
      r_.error(e.at, "expected an AWS region like eu-west-2, got " +
                       internal::describe(e.value));
      return std::nullopt;
    }
    return text;
  }

  std::optional<duration> read_positive_duration(const entry& e) {
    auto d = r_.duration_of(e.value, e.at);
    if (d && d->count() <= 0) {
      r_.error(e.at, "0s is out of range; allowed more than 0s");
      return std::nullopt;
    }
    return d;
  }

  std::optional<duration> read_duration_in(const entry& e, duration lo,
                                           duration hi) {
    auto d = r_.duration_of(e.value, e.at);
    if (d && (*d < lo || *d > hi)) {
      r_.error(e.at, format_duration(*d) + " is out of range; allowed " +
                       format_duration(lo) + ".." + format_duration(hi));
      return std::nullopt;
    }
    return d;
  }

  /// 0s (never), or 1s..1h: the rest sweep walks every person once per
  /// period, so a shorter one only costs CPU.
  std::optional<duration> read_rest_after(const entry& e) {
    auto d = read_duration_in(e, duration{0}, std::chrono::hours{1});
    if (d && *d > duration{0} && *d < std::chrono::seconds{1}) {
      r_.error(e.at, format_duration(*d) +
                       " is out of range; allowed 0s (never) or 1s..1h");
      return std::nullopt;
    }
    return d;
  }

  std::optional<std::string> read_existing_file(const entry& e) {
    auto text = r_.text(e.value, e.at);
    if (text && !std::ifstream{*text}.good()) {
      r_.error(e.at, "cannot read file " + *text);
      return std::nullopt;
    }
    return text;
  }

  /// Reads a direct-number file and reports each bad line of it.
  std::optional<std::string> read_did_mapping_file(const entry& e) {
    auto file = read_existing_file(e);
    if (!file) {
      return std::nullopt;
    }
    auto text = read_text_file(*file);
    if (!text) {
      r_.error(e.at, "cannot read file " + *file);
      return std::nullopt;
    }
    auto parsed = parse_did_mapping(*text);
    for (const auto& problem : parsed.problems) {
      r_.error(e.at, *file + ": " + problem);
    }
    return parsed.problems.empty() ? file : std::nullopt;
  }

  std::optional<std::vector<std::string>> read_statuses(const entry& e) {
    auto list = r_.text_list(e.value, e.at);
    if (!list) {
      return std::nullopt;
    }
    bool ok = true;
    for (std::size_t i = 0; i < list->size(); ++i) {
      const auto& name = (*list)[i];
      auto at = e.at.item(i, internal::line_of(e.value[i]));
      if (is_system_state(name)) {
        r_.error(at, name + " is a state presync derives from contacts and "
                            "events, not an agent status");
        ok = false;
      }
      for (std::size_t j = 0; j < i; ++j) {
        if (iequals((*list)[j], name)) {
          r_.error(at, "repeats " + (*list)[j]);
          ok = false;
        }
      }
    }
    return ok ? list : std::nullopt;
  }

  std::optional<std::vector<identity_config::key>>
  read_match_order(const entry& e) {
    if (!e.value.IsSequence() || e.value.size() == 0) {
      r_.error(e.at, "expected a list of " + internal::join(match_key_names) +
                       ", got " + internal::describe(e.value));
      return std::nullopt;
    }
    std::vector<identity_config::key> out;
    bool ok = true;
    for (std::size_t i = 0; i < e.value.size(); ++i) {
      auto at = e.at.item(i, internal::line_of(e.value[i]));
      auto name = r_.one_of(e.value[i], at, match_key_names);
      if (!name) {
        ok = false;
        continue;
      }
      auto k = enum_at<identity_config::key>(match_key_names, *name);
      if (std::find(out.begin(), out.end(), k) != out.end()) {
        r_.error(at, "repeats " + *name);
        ok = false;
      }
      out.push_back(k);
    }
    return ok ? std::optional{out} : std::nullopt;
  }

  reader r_;
  const env_lookup& env_;
  std::optional<where> api_tokens_at_;
  bool server_seen_ = false;
  where id_at_;
};

} // namespace

env_lookup process_environment() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* v = std::getenv(std::string{name}.c_str());
    if (v == nullptr) {
      return std::nullopt;
    }
    return std::string{v};
  };
}

std::string listen_address::to_string() const {
  bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::optional<presync_config> load_config_text(std::string_view text,
                                               diagnostics& diags,
                                               const env_lookup& env) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string{text});
  } catch (const YAML::Exception& e) {
    int line = e.mark.is_null() ? 0 : e.mark.line + 1;
    diags.add_error("", "YAML syntax error: " + e.msg, line);
    return std::nullopt;
  }
  auto config = loader{diags, env}.load(root);
  diags.sort_by_line();
  return config;
}

std::optional<presync_config> load_config_file(const std::string& file,
                                               diagnostics& diags,
                                               const env_lookup& env) {
  auto text = read_text_file(file);
  if (!text) {
    diags.add_error("", "cannot read the file");
    return std::nullopt;
  }
  return load_config_text(*text, diags, env);
}

std::optional<std::string> read_text_file(const std::string& file) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) {
    return std::nullopt;
  }
  std::ifstream in{file, std::ios::binary};
  if (!in) {
    return std::nullopt;
  }
  std::stringstream buf;
  buf << in.rdbuf();
  if (in.bad()) {
    return std::nullopt;
  }
  return buf.str();
}

} // namespace presync::config
