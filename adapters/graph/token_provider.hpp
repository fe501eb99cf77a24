// One tenant's app token, shared by its Graph actors: fetched with the
// client-credentials grant, cached, renewed 5 minutes before expiry with
// one request in flight, and its last failure kept for readiness and logs
// (spec/graph.md §1).
//
// A failed token request is not repeated at once: until a back-off has
// passed (the answer's Retry-After, else 1 s doubling to 15 s) every get()
// without a valid token is answered with the last failure, so an outage
// of the token endpoint or an expired secret costs one request per step,
// however many callers ask. The first failure of a streak is logged
// (component `graph.token`, event `token_unavailable`: error when a human
// must act — expired secret, wrong credentials, no consent —, warning
// otherwise; repeated at most once a minute) and the first success after
// it is an info `token_recovered`.
#pragma once

#include "adapters/graph/backoff.hpp"
#include "adapters/graph/token.hpp"
#include "adapters/http/client.hpp"
#include "adapters/log/log.hpp"
#include "protocol/error.hpp"
#include "protocol/time.hpp"

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace presync::graph {

/// Returns the steady clock as mono_time (the actor clock's base too).
mono_time steady_now();

/// Hands out bearer tokens. Thread-safe; callbacks run on the HTTP
/// client's I/O thread or, when a valid token is cached, on the caller's.
class token_provider : public std::enable_shared_from_this<token_provider> {
 public:
  using callback = std::function<void(expected<secret>)>;
  using clock_fn = std::function<mono_time()>;

  /// Creates a provider; `http` must outlive every request it makes.
  static std::shared_ptr<token_provider>
  make(std::shared_ptr<http::client> http, client_credentials credentials,
       endpoints where, clock_fn clock = steady_now,
       duration margin = std::chrono::minutes{5});

  /// Calls `done` with a valid token, fetching one first if none is held.
  /// While a token is still valid but inside the margin, it is handed out
  /// and one renewal starts in the background.
  void get(callback done);

  /// Forgets the token (Graph answered 401); the next get fetches anew.
  void invalidate();

  /// Returns the last token failure, cleared by the next success.
  std::optional<error> last_error() const;

  /// Returns how many token requests were sent.
  uint64_t requests_sent() const;

  /// Returns when the held token expires, on the provider's clock
  /// (nullopt: none held, e.g. never fetched or invalidated).
  std::optional<mono_time> token_expires_at() const;

  /// Returns when the next token request may go out after a failure
  /// (nullopt: at once).
  std::optional<mono_time> retry_at() const;

 private:
  token_provider(std::shared_ptr<http::client> http,
                 client_credentials credentials, endpoints where,
                 clock_fn clock, duration margin);

  /// Sends the token request; the error when it cannot be built.
  std::optional<error> start_refresh_locked();
  void on_answer(expected<http::http_response> answer);
  void log_outcome(const std::optional<error>& failure, uint32_t failures,
                   duration delay);

  std::shared_ptr<http::client> http_;
  client_credentials credentials_;
  endpoints where_;
  clock_fn clock_;
  mutable std::mutex mutex_;
  token_cache cache_;
  std::vector<callback> waiting_;
  std::optional<error> last_error_;
  uint64_t requests_sent_ = 0;
  backoff_policy backoff_{std::chrono::seconds{1}, std::chrono::seconds{15}, 0};
  uint32_t failures_ = 0;             ///< consecutive failed requests
  std::optional<mono_time> retry_at_; ///< no request before then
  std::optional<log::rate_limit> log_limit_;
};

} // namespace presync::graph
