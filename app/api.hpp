// The routes of presync's API server (DESIGN.md §5): health and readiness
// and the status drawer page without authentication, everything under /v1
// behind a bearer token. Handlers answer from the tenants' directories; a
// route that waits on actors or on Connect answers later through the
// responder, so the server's I/O thread never blocks on the network.
//
// Every input is validated: a bad one is 400 with the field and the
// reason, {"error":"invalid request","field":"limit","reason":"..."}.
// Authentication comes before any lookup, so an unauthenticated caller
// learns nothing about tenants or people.
#pragma once

#include "adapters/http/server.hpp"
#include "app/event_hub.hpp"
#include "app/tenant_runtime.hpp"
#include "protocol/secret.hpp"

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace presync::app {

/// A few threads for work that blocks on the network (click-to-dial), so
/// neither the server's thread nor an actor waits on Connect.
class task_runner {
 public:
  /// Starts `threads` workers; at most `max_queued` tasks wait.
  explicit task_runner(size_t threads = 2, size_t max_queued = 64);
  ~task_runner();

  task_runner(const task_runner&) = delete;
  task_runner& operator=(const task_runner&) = delete;

  /// Queues `task`; false when the queue is full (the caller says 503).
  bool post(std::function<void()> task);

 private:
  std::mutex mutex_; ///< guards the members below
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool stop_ = false;
  size_t max_queued_;
  std::vector<std::thread> threads_;
};

/// Returns the directory of a tenant (presync run passes the runtime's own);
/// null answers its directory routes with 503.
using directory_lookup =
  std::function<tenant_directory*(const tenant_runtime&)>;

/// What the routes answer from. The tenants outlive the server.
struct api_context {
  const std::vector<std::unique_ptr<tenant_runtime>>* tenants = nullptr;
  directory_lookup directory_of;
  std::vector<secret> tokens;            ///< accepted bearer tokens
  std::vector<std::string> cors_origins; ///< "*" allows any origin
  event_hub* events = nullptr;           ///< null: the event route is 503
  task_runner* blocking = nullptr;       ///< null: blocking work runs inline
  std::string default_region = "US";     ///< for route numbers without +
};

/// Splits a comma-separated token list, dropping blanks.
std::vector<secret> parse_api_tokens(std::string_view text);

/// Returns true if `header` is "Bearer T" for one of `tokens`. Compares in
/// time that depends only on the lengths, never on where they differ.
bool bearer_allowed(std::string_view header, const std::vector<secret>& tokens);

/// Answers one request, now or later through `out`:
/// - GET /healthz: 200 while the process runs;
/// - GET /readyz: 200 when every tenant is ready, else 503 with reasons;
/// - GET /ui/...: the status drawer page (files built into the binary);
/// - OPTIONS /v1/...: CORS preflight for the configured origins;
/// - GET /v1/tenants: the tenants and whether each is ready;
/// - GET /v1/tenants/{t}/identity/conflicts: accounts that claim one
///   identity and are therefore not synced;
/// - GET /v1/tenants/{t}/directory?q=&presence=&limit=&cursor=: a page of
///   the directory;
/// - GET /v1/tenants/{t}/directory/events: server-sent presence events;
/// - GET /v1/tenants/{t}/people/{id}: both sides, presync's session,
///   pending holds and deferrals, and the decision journal;
/// - POST /v1/tenants/{t}/calls {agent, person, client_token?}:
///   click-to-dial through StartOutboundVoiceContact;
/// - GET /v1/tenants/{t}/route?number=&ext=: the agent for a direct number;
/// - 401 for /v1 without a valid token.
void serve_api(const api_context& ctx, http::server_request req,
               http::responder out);

/// Answers `req` and waits for the answer: for tests and tools, never for
/// the server's thread. Streams are not supported (503).
http::server_response handle_api(const api_context& ctx,
                                 const http::server_request& req);

/// Splits a query string into decoded name/value pairs; rejected naming the
/// problem (bad percent-encoding, a NUL byte, not UTF-8) otherwise.
struct query_param {
  std::string name;
  std::string value;
};
[[nodiscard]] expected<std::vector<query_param>>
parse_query(std::string_view query);

} // namespace presync::app
