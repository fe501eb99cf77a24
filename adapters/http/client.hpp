// One asynchronous HTTPS client for every adapter (DESIGN.md §5): a
// keep-alive pool per host, TLS verified against the system store, proxy
// support from the environment, and errors as presync::error values.
//
// All Beast and Asio code lives in client.cpp; this header only
// forward-declares the io_context, so users compile quickly.
#pragma once

#include "adapters/http/message.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace boost::asio {
class io_context;
} // namespace boost::asio

namespace presync::http {

/// Severity of a message the client hands to its logger.
enum class log_level : uint8_t { debug, info, warning, error };

/// Receives the client's log events: a stable event name and context that
/// never contains a secret or a URL query.
using log_fn =
  std::function<void(log_level, std::string_view event, std::string_view)>;

/// Sees one finished request: what was sent, the answer or the error, and
/// the time from async_send to the answer (pool wait included). Runs on the
/// I/O thread before the caller's callback; it must be quick and must not
/// send. The request still holds its headers: never log or label them.
using exchange_fn =
  std::function<void(const http_request&, const expected<http_response>&,
                     std::chrono::steady_clock::duration elapsed)>;

/// Looks up an environment variable; nullopt when unset.
using env_fn = std::function<std::optional<std::string>(std::string_view)>;

/// Returns an env_fn that reads the process environment.
env_fn process_environment();

/// Returns an env_fn that finds nothing (no proxy).
env_fn empty_environment();

/// Limits of one request. Every timeout is an upper bound.
struct request_options {
  duration connect_timeout = std::chrono::seconds{10}; ///< DNS+TCP+TLS+proxy
  duration read_timeout = std::chrono::seconds{30};    ///< write + whole answer
  duration total_timeout = std::chrono::seconds{60};   ///< incl. pool wait
  size_t max_response_bytes = 16 * 1024 * 1024;        ///< body limit
};

/// How the client connects. Defaults are the safe ones.
struct client_config {
  /// Connections kept per host:port; further requests queue.
  size_t max_connections_per_host = 4;

  /// Verify certificates and host names. Turning it off logs a warning.
  bool verify_tls = true;

  /// Trust the system's CA store.
  bool use_system_ca = true;

  /// An extra PEM file of trusted CAs (empty: none).
  std::string extra_ca_file;

  /// Sent as User-Agent unless the request sets one.
  std::string user_agent = "presync/0.1";

  /// Where HTTPS_PROXY, HTTP_PROXY and NO_PROXY come from.
  env_fn env = process_environment();

  /// Receives warnings and debug events; may be empty.
  log_fn log;

  /// Sees every finished request (metrics): may be empty.
  exchange_fn observe;
};

/// Counters for tests and metrics.
struct client_stats {
  uint64_t connections_opened = 0;
  uint64_t requests_sent = 0;
  uint64_t stale_retries = 0;
};

/// The proxy a request goes through, if any (exposed for tests).
struct proxy_choice {
  std::string host;
  uint16_t port = 0;
};

/// Picks the proxy for `target` from HTTPS_PROXY/https_proxy (TLS targets)
/// or HTTP_PROXY/http_proxy, unless NO_PROXY/no_proxy lists the host (exact
/// name, a suffix such as `.example.com` or `example.com`, or `*`).
[[nodiscard]] expected<std::optional<proxy_choice>>
choose_proxy(const url_parts& target, const env_fn& env);

/// An HTTPS/HTTP client running on its own thread or on a caller's
/// io_context. Thread-safe: async_send may be called from any thread.
class client {
 public:
  using callback = std::function<void(expected<http_response>)>;

  /// Creates a client that runs one I/O thread of its own.
  [[nodiscard]] static expected<std::unique_ptr<client>>
  make(client_config config);

  /// Creates a client on `io`, which the caller runs (one thread, or the
  /// client serialises its work on a strand anyway) and keeps alive longer
  /// than the client.
  [[nodiscard]] static expected<std::unique_ptr<client>>
  make(client_config config, boost::asio::io_context& io);

  /// Closes every connection; requests still in flight complete with
  /// `canceled`. With an own thread, waits for it to end.
  ~client();

  client(const client&) = delete;
  client& operator=(const client&) = delete;

  /// Sends `request` and calls `done` once, on the I/O thread, with the
  /// response (any status) or an error: timeout, unavailable (refused or
  /// reset), connection_failed (DNS, proxy), tls_failed, too_large,
  /// malformed, canceled, config_invalid (bad URL).
  void async_send(http_request request, request_options options, callback done);

  /// Sends and waits. Never call it from the client's own I/O thread.
  [[nodiscard]] expected<http_response> send(http_request request,
                                             request_options options = {});

  /// Returns the counters so far.
  client_stats stats() const;

  struct impl;

 private:
  explicit client(std::shared_ptr<impl> state);

  std::shared_ptr<impl> impl_;
};

} // namespace presync::http
