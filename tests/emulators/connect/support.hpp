// Test helpers for the Connect emulator: child processes on loopback and a
// minimal blocking HTTP/1.1 client (no Beast, to keep test builds light).
#pragma once

#include "emulators/connect/sigv4.hpp"

#include <string>
#include <utility>
#include <vector>

#include <sys/types.h>

namespace presync::connect_emulator::testing {

/// A child process whose first stdout line is `listening HOST:PORT`;
/// stopped with SIGTERM when destroyed.
class child_process {
 public:
  /// Starts `argv` and waits (at most `timeout_ms`) for the first line.
  child_process(std::vector<std::string> argv, int timeout_ms = 15000);
  ~child_process();
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  /// Returns the first stdout line, or empty when the child failed.
  const std::string& first_line() const { return first_line_; }
  /// Returns the port from `listening HOST:PORT`, 0 when not listening.
  int port() const { return port_; }
  /// Sends SIGTERM and returns the exit status (waits at most 10 s).
  int stop();

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::string first_line_;
  int port_ = 0;
};

/// One HTTP response as the tests see it.
struct response {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string error; ///< transport failure

  /// Returns the first header of that name (case-insensitive) or empty.
  std::string header(std::string_view name) const;
};

/// Sends one request to 127.0.0.1:`port` (Connection: close).
response send(int port, const sigv4::request& req);

/// Builds a request with Host set for 127.0.0.1:`port`.
sigv4::request make_request(int port, std::string method, std::string target,
                            std::string body = {},
                            std::string content_type = {});

/// Sends a signed request (service `service`, region us-east-1).
response send_signed(int port, sigv4::request req,
                     const sigv4::credentials& creds,
                     const std::string& service, std::int64_t now_ms);

/// Sends a control API request (no signature).
response control(int port, const std::string& method, const std::string& target,
                 const std::string& body = {});

/// Returns the path of a built binary or script relative to the checkout.
std::string bin_path(const std::string& name);

} // namespace presync::connect_emulator::testing
