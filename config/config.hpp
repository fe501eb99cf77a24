// presync's configuration file: schema, defaults and loader (DESIGN.md §6).
// Secrets are never in the file: it names the environment variables that
// hold them, and the loader only checks that those are set.
#pragma once

#include "config/diagnostics.hpp"
#include "config/sync_section.hpp"
#include "protocol/rules.hpp"
#include "protocol/time.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace presync::config {

/// Looks up an environment variable; nullopt when it is not set. Injected so
/// tests do not depend on the real environment.
using env_lookup =
  std::function<std::optional<std::string>(std::string_view name)>;

/// Returns a lookup that reads the process environment.
[[nodiscard]] env_lookup process_environment();

/// A `host:port` to listen on; the host may be a bracketed IPv6 address.
struct listen_address {
  std::string host;
  std::uint16_t port = 0;

  /// Returns "host:port" ("[::1]:8080" for IPv6).
  std::string to_string() const;
};

/// The actor system's scheduler (CAF's scheduler.* options).
struct actors_config {
  enum class policy { stealing, sharing };

  int scheduler_threads = 0; ///< 0: one per core
  policy scheduler_policy = policy::sharing;
  int throughput = 100; ///< messages an actor handles per turn
  /// A person actor idle this long ends and its person rests as the
  /// supervisor's snapshot until an input or its next timer; 0s: never
  /// (actors/tenant_supervisor.hpp, "Resting").
  duration rest_after = std::chrono::seconds{60};
};

/// The API server (directory, dialing, routing, /ui, health).
struct server_config {
  listen_address listen{"0.0.0.0", 8080};
  /// Names the variable holding comma-separated bearer tokens.
  std::string api_tokens_env = "PRESYNC_API_TOKENS";
  std::vector<std::string> cors_origins;
  /// How long SIGTERM waits for queued writes before presync exits.
  duration shutdown_grace = std::chrono::seconds{20};
  /// How long a client may take to send one whole request (1s..300s).
  duration read_timeout = std::chrono::seconds{10};
};

/// The Prometheus endpoint.
struct metrics_config {
  listen_address listen{"0.0.0.0", 9464};
};

/// The JSON log.
struct log_config {
  enum class level { debug, info, warning, error };

  level min_level = level::info;
};

/// Durable state.
struct store_config {
  std::string path = "presync.db";
};

/// One Entra ID tenant and presync's app registration in it.
struct graph_config {
  std::string tenant_id;
  std::string client_id;
  std::string client_secret_env; ///< names the variable; never the secret
  std::string login_endpoint = "https://login.microsoftonline.com";
  std::string graph_endpoint = "https://graph.microsoft.com";
  std::string ca_file; ///< empty: the system's trust store
  int presence_requests_per_window = 1500;
  duration presence_window = std::chrono::seconds{30};
  int directory_requests_per_second = 20;
  /// How long the presence writer waits for more writes to fill a $batch
  /// of 20 before it sends a smaller one; a full batch leaves at once.
  /// The default keeps a generated day of 2,000 persons at 0.053 Graph
  /// requests per propagated change (docs/PERFORMANCE.md).
  duration write_gather = std::chrono::seconds{2};
};

/// One Amazon Connect instance and how presync reaches it.
struct connect_config {
  enum class credential_source { env, web_identity, container };

  std::string instance_id;
  std::string region;
  std::string endpoint; ///< default https://connect.<region>.amazonaws.com
  std::string
    kinesis_endpoint;       ///< default https://kinesis.<region>.amazonaws.com
  std::string sts_endpoint; ///< default https://sts.<region>.amazonaws.com
  std::string stream_name;
  std::string outbound_contact_flow_id;
  std::string outbound_queue_id;
  /// Direct numbers of agents for the routing lookup, beside the desk
  /// phone numbers Connect lists (config/did_mapping.hpp); empty: none.
  std::string did_mapping_file;
  int requests_per_second = 2;
  int burst = 5;
  std::vector<std::string> agent_statuses; ///< custom status names
  credential_source credentials = credential_source::env;
};

/// How a Teams user and a Connect user are recognised as one person.
struct identity_config {
  enum class key { upn, mail, username };

  std::vector<key> match_order = {key::upn, key::mail, key::username};
  std::string mapping_file; ///< empty: no explicit mapping
};

/// One tenant: an Entra ID tenant paired with a Connect instance.
struct tenant_config {
  std::string id;
  graph_config graph;
  connect_config connect;
  identity_config identity;
  sync_settings sync;
};

/// The whole file.
struct presync_config {
  std::vector<tenant_config> tenants;
  actors_config actors;
  server_config server;
  metrics_config metrics;
  log_config log;
  store_config store;
};

/// Parses a config held in memory; `diags.source()` names it in messages.
/// Reports every problem found, not just the first, and returns nullopt
/// when any of them is an error.
[[nodiscard]] std::optional<presync_config>
load_config_text(std::string_view text, diagnostics& diags,
                 const env_lookup& env);

/// Reads and parses `file`. An unreadable file is an error in `diags`.
[[nodiscard]] std::optional<presync_config>
load_config_file(const std::string& file, diagnostics& diags,
                 const env_lookup& env);

/// Returns the text of `file`, or nullopt when it cannot be read.
[[nodiscard]] std::optional<std::string>
read_text_file(const std::string& file);

} // namespace presync::config
