#pragma once

// The Graph emulator's request handling, independent of any socket: the
// identity platform token endpoint and discovery documents, the Graph v1.0
// routes of spec/graph.md, and the /_control/ API. The Beast server in
// server.cpp feeds it one request at a time.

#include "emulators/graph/model.hpp"

#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace presync::graph_emulator {

/// Holds one HTTP request as the service sees it.
struct http_request {
  std::string method;
  std::string target;                         ///< path and query, as sent
  std::map<std::string, std::string> headers; ///< names in lower case
  std::string body;
  bool from_loopback = true;
};

/// Holds one HTTP response plus instructions for the transport.
struct http_response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  millis delay_ms = 0;         ///< wait this long before answering
  bool cut_connection = false; ///< send half, then reset the connection

  /// Returns the value of a header, or "" when absent.
  std::string header(const std::string& name) const;
};

/// Holds the emulator's start-up settings.
struct service_options {
  int users = 0;
  bool real_time_clock = true;
  std::string tenant = "00000000-0000-0000-0000-0000000000a1";
  std::string client_id = "00000000-0000-0000-0000-0000000000b1";
  std::string client_secret = "emulator-secret";
  knobs initial_knobs;
};

/// Answers emulator requests; safe to call from several threads.
class service {
 public:
  /// Builds the emulated tenant.
  explicit service(const service_options& options);

  /// Sets the absolute base URL ("https://127.0.0.1:4443") used in links
  /// and discovery documents.
  void set_base_url(std::string url);

  /// Handles one request.
  http_response handle(const http_request& req);

  /// Runs `f` with the world locked (for in-process tests).
  template <class F>
  auto with_world(F&& f) {
    std::lock_guard<std::mutex> lock{mutex_};
    return f(world_);
  }

 private:
  // -- routing ---------------------------------------------------------
  http_response dispatch(const http_request& req);
  http_response graph_call(const http_request& req, bool in_batch);
  http_response graph_route(const http_request& req, const std::string& op,
                            const std::string& path,
                            const std::map<std::string, std::string>& query,
                            const std::string& token_client);
  std::string operation_of(const std::string& method,
                           const std::string& path) const;

  // -- identity platform -------------------------------------------------
  http_response token(const http_request& req, const std::string& tenant);
  http_response openid_configuration(const std::string& tenant);
  http_response instance_discovery();

  // -- Graph resources ---------------------------------------------------
  http_response list_users(const std::map<std::string, std::string>& query);
  http_response users_delta(const http_request& req,
                            const std::map<std::string, std::string>& query);
  http_response get_user(const std::string& id,
                         const std::map<std::string, std::string>& query);
  http_response get_presence(const std::string& id, bool via_users);
  http_response presences_by_user_id(const http_request& req);
  http_response presence_write(const http_request& req, const std::string& id,
                               const std::string& action,
                               const std::string& token_client);
  http_response batch(const http_request& req);
  http_response
  teams_user_configurations(const http_request& req,
                            const std::map<std::string, std::string>& query);
  http_response teams_user_configuration(const std::string& id);

  // -- control API ---------------------------------------------------------
  http_response control(const http_request& req, const std::string& path,
                        const std::map<std::string, std::string>& query);
  http_response control_user(const http_request& req,
                             const std::vector<std::string>& parts,
                             const std::map<std::string, std::string>& query);
  http_response control_knobs(const http_request& req);

  // -- helpers -------------------------------------------------------------
  std::string presence_json(const std::string& id, bool with_context);
  http_response graph_error(int status, const std::string& code,
                            const std::string& message);
  std::string next_guid();
  /// A 429 TooManyRequests, with a Retry-After unless `retry_after_ms` is 0.
  http_response too_many_requests(millis retry_after_ms);

  std::mutex mutex_;
  world world_;
  std::string base_url_ = "http://127.0.0.1";
  std::uint64_t guid_counter_ = 0;
  std::string current_client_request_id_;
};

/// Decodes %XX escapes (and '+' as space when `form` is set).
std::string url_decode(const std::string& s, bool form = false);

/// Splits "a=1&b=2" into decoded pairs; later duplicates win.
std::map<std::string, std::string> parse_query(const std::string& q,
                                               bool form = false);

} // namespace presync::graph_emulator
