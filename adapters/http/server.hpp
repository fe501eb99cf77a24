// A small HTTP/1.1 server for presync's own endpoints (DESIGN.md §2, "API
// server"): health, the /v1 API and /ui. It runs one I/O thread of its own
// and hands each complete request to a handler as plain values; no Beast
// type appears here. A handler answers at once, or later from another
// thread through a responder (the answer is posted back to the I/O
// thread), or as a stream of chunks (server-sent events).
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

/// One response sent in pieces: the status line and headers first, then
/// chunks as they come (server-sent events). Thread-safe.
class event_stream {
 public:
  virtual ~event_stream() = default;

  /// Queues `data` as the next chunk. Returns false once the stream is
  /// closed (the peer went away, a write timed out, or too much data was
  /// waiting for a slow peer, which also closes it).
  virtual bool send(std::string data) = 0;

  /// Returns false once the stream is closed.
  virtual bool is_open() const = 0;

  /// Ends the response and the connection.
  virtual void close() = 0;
};

/// The other end of one request, for a handler that answers later and from
/// any thread: a call that goes to Connect, or waits on actors. Copies
/// share one answer: the first reply() or open_stream() wins, later calls
/// do nothing. A request whose last responder copy goes away unanswered
/// gets a 500, so a lost answer never leaves a client waiting.
class responder {
 public:
  using reply_fn = std::function<void(server_response)>;
  using stream_fn =
    std::function<std::shared_ptr<event_stream>(server_response head)>;

  /// Wraps the two ways to answer; the server makes these, tests too.
  explicit responder(reply_fn reply, stream_fn stream = {});

  /// Sends `r` as the complete answer.
  void reply(server_response r) const;

  /// Sends `head`'s status and headers (its body is ignored) and keeps the
  /// connection for chunks. Returns null when an answer was already given
  /// or streams are not supported.
  std::shared_ptr<event_stream> open_stream(server_response head) const;

  /// Returns true once an answer was given.
  bool answered() const;

  struct state;

 private:
  std::shared_ptr<state> state_;
};

/// Handles one request and answers through `out`, now or later.
using async_request_handler =
  std::function<void(server_request, responder out)>;

/// Limits of the server.
struct server_limits {
  size_t max_header_bytes = 16 * 1024;
  size_t max_body_bytes = 1024 * 1024;
  duration read_timeout = std::chrono::seconds{10}; ///< per request
  size_t max_connections = 512;
  /// Bytes a stream may hold for a slow peer before it is closed.
  size_t max_stream_backlog = 1024 * 1024;
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

  /// Same, with a handler that may answer later from another thread. The
  /// connection waits for that answer before it reads the next request.
  [[nodiscard]] static expected<std::unique_ptr<server>>
  start(const std::string& listen, async_request_handler handler,
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
