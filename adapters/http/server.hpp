// A small HTTP/1.1 server for presync's own endpoints (DESIGN.md §2, "API
// server"): /healthz and /readyz now, the /v1 API and /ui later. It runs
// one I/O thread of its own and hands each complete request to a handler
// as plain values; no Beast type appears here.
//
// Limits are enforced before the handler sees anything: header and body
// size (431 / 413), a read deadline per request (slow clients are
// disconnected) and a cap on open connections.
#pragma once

#include "adapters/http/message.hpp"
#include "protocol/error.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace presync::http {

/// One request as the handler sees it.
struct server_request {
  std::string method;
  std::string target; ///< path and query as sent
  header_list headers;
  std::string body;
  std::string peer; ///< "127.0.0.1:53412"
};

/// What a handler answers.
struct server_response {
  int status = 200;
  header_list headers; ///< Content-Type defaults to application/json
  std::string body;

  /// Returns a JSON answer with `status`.
  static server_response json(int status, std::string body);
};

/// Handles one request. Runs on the server's I/O thread: it must not block
/// for long (ask actors with a timeout, never wait on the network).
using request_handler = std::function<server_response(const server_request&)>;

/// Limits of the server.
struct server_limits {
  size_t max_header_bytes = 16 * 1024;
  size_t max_body_bytes = 1024 * 1024;
  duration read_timeout = std::chrono::seconds{10}; ///< per request
  size_t max_connections = 512;
};

/// Listens on one address until destroyed.
class server {
 public:
  /// Binds `listen` ("127.0.0.1:8080", "[::1]:0"; port 0 picks a free
  /// one) and starts serving. config_invalid for a bad address,
  /// unavailable when it cannot be bound.
  [[nodiscard]] static expected<std::unique_ptr<server>>
  start(const std::string& listen, request_handler handler,
        server_limits limits = {});

  /// Stops accepting, closes every connection and joins the I/O thread.
  ~server();

  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Returns the port actually bound.
  uint16_t port() const;

  struct impl;

 private:
  explicit server(std::shared_ptr<impl> state);

  std::shared_ptr<impl> impl_;
};

} // namespace presync::http
