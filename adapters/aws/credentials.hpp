// Where AWS credentials come from, in the SDKs' order (spec/connect.md §3.7):
// environment variables, web identity (STS AssumeRoleWithWebIdentity), then
// container credentials. A source that needs the network is tried only when
// its environment variable is set, and instance metadata (IMDS) is never
// used at all. The transport, the environment and the file system are
// injected, so this file holds no socket code.
#pragma once

#include "adapters/aws/secret_string.hpp"
#include "adapters/aws/sigv4.hpp"
#include "protocol/error.hpp"

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace presync::aws {

// -- Injected dependencies --------------------------------------------------

/// An HTTP request for the injected transport; the URL is absolute.
struct simple_request {
  std::string method;
  std::string url;
  std::vector<http_header> headers;
  std::string body;
};

/// What the transport answered.
struct simple_response {
  int status = 0;
  std::vector<http_header> headers;
  std::string body;
};

/// Sends one request; fails only when no HTTP answer came back.
using http_call =
  std::function<expected<simple_response>(const simple_request&)>;

/// Looks up an environment variable; nullopt when unset.
using env_lookup =
  std::function<std::optional<std::string>(std::string_view name)>;

/// Reads a whole file.
using file_reader = std::function<expected<std::string>(const std::string&)>;

/// Returns a lookup that reads the process environment.
env_lookup process_environment();

/// Returns a reader for the local file system.
file_reader local_files();

/// Returns the value of `name` in `headers` (case-insensitive), or nullopt.
std::optional<std::string_view>
find_header(const std::vector<http_header>& headers, std::string_view name);

// -- Credentials with an expiry ---------------------------------------------

/// Credentials plus when they stop working and where they came from.
struct timed_credentials {
  credentials creds;
  std::optional<std::chrono::sys_seconds> expiration; ///< none: long-term
  std::string source; ///< environment, web_identity, container
};

/// Settings of the chain; environment variables fill what is left empty.
struct credentials_options {
  /// Region for the regional STS endpoint; else AWS_REGION or
  /// AWS_DEFAULT_REGION; with none, the global sts.amazonaws.com.
  std::string region;
  /// STS endpoint (scheme and host); else AWS_ENDPOINT_URL_STS.
  std::string sts_endpoint;
  /// Base of AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (the ECS agent's
  /// address by SDK convention; tests point it at loopback).
  std::string container_base = "http://169.254.170.2";
  /// Refresh this long before the credentials expire.
  std::chrono::seconds refresh_margin{300};
};

// -- Building blocks, public for tests --------------------------------------

/// Builds the unsigned STS AssumeRoleWithWebIdentity call (form-encoded
/// POST to `endpoint`/).
simple_request build_assume_role_with_web_identity(
  std::string_view endpoint, std::string_view role_arn,
  std::string_view session_name, const secret_string& web_identity_token);

/// Parses an AssumeRoleWithWebIdentity answer, XML (the default) or JSON;
/// an error answer becomes its sync_error (InvalidIdentityToken and
/// ExpiredTokenException: unauthorized, AccessDenied: forbidden, ...).
[[nodiscard]] expected<timed_credentials>
parse_assume_role_with_web_identity(const simple_response& response);

/// Parses the container credentials endpoint's JSON answer.
[[nodiscard]] expected<timed_credentials>
parse_container_credentials(const simple_response& response);

/// Returns the sync_error for an HTTP status (429 throttled, 5xx
/// unavailable, 401 unauthorized, 403 forbidden, 404 not_found, other 4xx
/// rejected).
sync_error error_for_http_status(int status);

// -- The chain ---------------------------------------------------------------

/// Resolves credentials once, caches them and refreshes them
/// `refresh_margin` before they expire. Not thread-safe: one owner.
class credentials_chain {
 public:
  credentials_chain(env_lookup env, file_reader files, http_call http,
                    credentials_options options = {});

  /// Returns valid credentials at `now`, fetching new ones when the cached
  /// ones are missing or within the refresh margin. If a refresh fails
  /// while the cached ones have not expired yet, returns those.
  [[nodiscard]] expected<timed_credentials> get(std::chrono::sys_seconds now);

  /// Resolves from the sources in order, ignoring the cache.
  [[nodiscard]] expected<timed_credentials>
  resolve(std::chrono::sys_seconds now);

 private:
  std::optional<std::string> env(std::string_view name) const;
  expected<timed_credentials> from_web_identity(std::chrono::sys_seconds now);
  expected<timed_credentials> from_container();
  std::string sts_endpoint() const;

  env_lookup env_;
  file_reader files_;
  http_call http_;
  credentials_options options_;
  std::optional<timed_credentials> cached_;
};

} // namespace presync::aws
