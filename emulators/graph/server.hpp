#pragma once

// HTTP/1.1 front end of the Graph emulator (Boost.Beast, keep-alive, plain
// or TLS). The only translation unit that includes Beast is server.cpp.

#include "emulators/graph/service.hpp"

#include <memory>
#include <string>

namespace presync::graph_emulator {

/// Holds where and how the server listens.
struct server_options {
  std::string host = "127.0.0.1";
  unsigned short port = 0; ///< 0 picks a free port
  std::string tls_cert;    ///< PEM chain file; empty means plain HTTP
  std::string tls_key;     ///< PEM private key file
};

/// Serves a `service` over HTTP; binds in the constructor.
class server {
 public:
  /// Binds and listens; throws std::runtime_error naming what failed.
  server(service& svc, const server_options& options);
  ~server();

  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Returns "HOST:PORT" with the port actually bound.
  std::string address() const;

  /// Returns the base URL, e.g. "https://127.0.0.1:4443".
  std::string base_url() const;

  /// Makes SIGTERM and SIGINT stop run(); signals that arrive before
  /// run() starts are kept and honoured.
  void handle_signals();

  /// Serves until stop() or a signal registered by handle_signals().
  void run();

  /// Stops run() from any thread.
  void stop();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace presync::graph_emulator
