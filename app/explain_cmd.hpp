// `presync explain --person ID`: why a person shows what it shows, from the
// running service (DESIGN.md §4, "Explainability").
#pragma once

#include "config/config.hpp"

#include <optional>
#include <string>

namespace presync::app {

/// Where the running service is and how to authenticate to it.
struct service_address {
  std::string url;   ///< "http://127.0.0.1:8080"
  std::string token; ///< empty: none found
};

/// Finds the service: `url` if given, else PRESYNC_URL, else the
/// server.listen of `config_file` (a wildcard address is asked on
/// loopback), else http://127.0.0.1:8080. The token: PRESYNC_API_TOKEN,
/// else the first token of the variable the config's server.api_tokens_env
/// names (PRESYNC_API_TOKENS by default).
service_address find_service(const std::optional<std::string>& url,
                             const std::optional<std::string>& config_file,
                             const config::env_lookup& env);

/// Runs the command; `argv` holds the arguments after "explain".
int explain_main(int argc, char** argv);

} // namespace presync::app
