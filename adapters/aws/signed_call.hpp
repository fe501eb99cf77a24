// One signed AWS call: build the request, sign it with SigV4 using
// credentials from the chain, send it with the shared HTTP client and hand
// back the raw answer for the service's own parser.
#pragma once

#include "adapters/aws/credentials.hpp"
#include "adapters/aws/sigv4.hpp"
#include "adapters/http/client.hpp"
#include "protocol/error.hpp"

#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

namespace presync::aws {

/// Where one AWS service is reached and how its calls are signed.
struct service_endpoint {
  std::string url;     ///< scheme, host and optional port, no path
  std::string region;  ///< e.g. us-east-1
  std::string service; ///< SigV4 service name: connect, kinesis
};

/// The unsigned request: path and query as sent, headers without Host.
struct call_request {
  std::string method = "GET";
  std::string path = "/";
  std::string query;
  std::vector<http_header> headers;
  std::string body;
};

/// Returns wall-clock time; injected so that tests can sign at any instant.
using wall_clock_fn = std::function<std::chrono::sys_seconds()>;

/// Returns the system clock rounded down to the second.
wall_clock_fn system_wall_clock();

/// Signs and sends calls to one endpoint. Thread-safe: the credentials
/// chain is guarded by a mutex; the HTTP client is thread-safe itself.
class signed_caller {
 public:
  /// Keeps references to `client` and `chain`; both must outlive this.
  signed_caller(http::client& client, credentials_chain& chain,
                service_endpoint endpoint,
                wall_clock_fn clock = system_wall_clock(),
                http::request_options options = {});

  /// Signs and sends `request` and waits for the answer. Any HTTP status is
  /// a value; errors are credential, signing or transport failures. Never
  /// call it from the HTTP client's own I/O thread.
  [[nodiscard]] expected<http::http_response> call(const call_request& request);

  /// Returns the endpoint calls go to.
  const service_endpoint& endpoint() const { return endpoint_; }

 private:
  http::client& client_;
  credentials_chain& chain_;
  std::mutex chain_mutex_;
  service_endpoint endpoint_;
  wall_clock_fn clock_;
  http::request_options options_;
};

/// Converts the client's header list into SigV4 headers (for parsers).
std::vector<http_header> to_aws_headers(const http::header_list& headers);

/// Returns an env_lookup that answers only from `values`; for tests and for
/// credentials taken from configuration.
env_lookup
fixed_environment(std::vector<std::pair<std::string, std::string>> values);

/// Returns an http_call that refuses every request (no network-based
/// credential source), failing with config_invalid.
http_call no_credential_transport();

} // namespace presync::aws
