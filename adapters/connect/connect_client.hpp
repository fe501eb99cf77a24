// The Connect REST calls of one tenant behind one rate limiter
// (spec/connect.md §2.3): every call, whoever makes it, takes a token from
// the same bucket, then is signed and sent. Plain functions on top read the
// directory and the agents' live state.
#pragma once

#include "adapters/aws/signed_call.hpp"
#include "adapters/connect/connect_api.hpp"
#include "protocol/error.hpp"
#include "protocol/time.hpp"
#include "protocol/write_queue.hpp"

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

namespace presync::connect {

/// Rate limits of a tenant's Connect API calls.
struct connect_limits {
  double requests_per_second = 2;
  double burst = 5;
};

/// Returns the steady clock as mono_time; injected for tests.
using mono_clock_fn = std::function<mono_time()>;

/// Returns the steady clock rounded down to the millisecond.
mono_clock_fn steady_mono_clock();

/// A raw Connect answer.
struct connect_reply {
  int status = 0;
  std::vector<aws::http_header> headers;
  std::string body;
};

/// Every Connect call of one tenant. Thread-safe.
class connect_client {
 public:
  /// `caller` signs for service connect and must outlive this.
  connect_client(aws::signed_caller& caller, std::string instance_id,
                 connect_limits limits = {},
                 mono_clock_fn clock = steady_mono_clock());

  /// Takes a token and sends `request`. Without a token, fails with
  /// throttled and retry_after set to when the next token comes. Any HTTP
  /// status is a value.
  [[nodiscard]] expected<connect_reply> call(const api_request& request);

  /// Returns the instance all calls are for.
  const std::string& instance_id() const { return instance_id_; }

  /// Returns the number of calls sent so far.
  uint64_t calls_sent() const;

  /// Changes the limits (config reload).
  void set_limits(const connect_limits& limits);

 private:
  aws::signed_caller& caller_;
  std::string instance_id_;
  mono_clock_fn clock_;
  mutable std::mutex mutex_;
  token_bucket bucket_;
  uint64_t calls_sent_ = 0;
};

/// Returns the error of a non-2xx Connect answer of `operation`.
error error_of(std::string_view operation, const connect_reply& reply);

/// Reads every agent status (all ListAgentStatuses pages).
[[nodiscard]] expected<std::vector<agent_status_summary>>
list_all_agent_statuses(connect_client& client);

// The bulk reads below block: they wait for the tenant's rate limiter and
// retry Connect's own throttling a few times (Retry-After, else 1, 2, 4 s
// ...). Call them from a thread that may wait, never from an actor.

/// Reads every user's summary (ListUsers pages only: id, ARN, username).
[[nodiscard]] expected<std::vector<user_summary>>
list_all_users(connect_client& client);

/// Reads every user (ListUsers pages, then DescribeUser for each).
[[nodiscard]] expected<std::vector<user_details>>
read_directory(connect_client& client);

/// Reads the live state of `user_ids` (GetCurrentUserData, 100 per call,
/// every page). Agents that are not logged in are absent from the answer.
[[nodiscard]] expected<std::vector<user_data>>
read_current_user_data(connect_client& client,
                       const std::vector<std::string>& user_ids);

} // namespace presync::connect
