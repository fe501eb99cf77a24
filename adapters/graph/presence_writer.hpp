// The Teams-side writer of one tenant's write queue: it packs the attempts
// it is sent into JSON $batch requests of up to 20 and answers each with
// its own outcome (spec/graph.md §4.2, §4.3, §6.3).
//
// Failures, and who retries them:
// - 429/503 with Retry-After (whole batch or one sub-response): the write
//   is answered `throttled` at once and the shared presence budget is held
//   for the Retry-After; the write queue, which coalesces per person,
//   sends the newest value again when its own hold ends. Logged as a
//   warning `presence_write_throttled` (at most once per 10 s).
// - A failure without Retry-After (5xx, 429 without the header, timeout,
//   connection refused or reset, also mid-response): the writer keeps the
//   write and sends it again after an exponential back-off with jitter
//   (backoff.hpp), up to `backoff.max_attempts` tries in all. Each retry
//   is counted and logged (warning `presence_write_retry`). A write still
//   failing after its last try is answered `throttled` with the next
//   back-off as Retry-After, counted in `gave_up` and logged (error
//   `presence_write_gave_up`): the queue then holds the Teams side and
//   retries the newest value, so a long outage loses no write and never
//   retries without a trace.
// - No token (the token endpoint down, the secret expired or refused, a
//   TLS failure on the way to it): nothing was sent, so the writes are
//   answered `throttled` with the token provider's next try as the
//   Retry-After; the queue holds the Teams side and sends each person's
//   newest value once a token comes (warning
//   `presence_write_waiting_for_token`, at most once per 10 s).
// - Anything else (a 4xx from Graph, a TLS failure talking to it):
//   `failed`.
//
// While a write waits for its retry the queue still counts it as in flight
// for its person, so a person's writes stay in order and a newer one waits
// (coalescing) in the queue.
#pragma once

#include "actors/messages.hpp"
#include "adapters/graph/backoff.hpp"
#include "adapters/graph/batch.hpp"
#include "adapters/graph/budget.hpp"
#include "adapters/graph/token_provider.hpp"
#include "adapters/http/client.hpp"
#include "adapters/log/log.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace presync::graph {

/// What a presence writer needs.
struct presence_writer_args {
  std::shared_ptr<http::client> http;
  std::shared_ptr<token_provider> tokens;
  std::shared_ptr<presence_budget> budget;
  endpoints where;
  session_settings session; ///< presync's client id and teams_session_ttl
  std::map<std::string, std::string> graph_ids; ///< person id -> Graph id
  duration gather_window = std::chrono::seconds{2};
  http::request_options options;
  backoff_policy backoff;   ///< failures without Retry-After
  uint64_t jitter_seed = 0; ///< 0: seeded from std::random_device
  std::string tenant;       ///< for log lines
  /// Sees each $batch sub-response that asked presync to slow down (429,
  /// or 503 with Retry-After) with its Retry-After, 0 when it named none.
  /// The HTTP client's observer sees only the $batch answer's own status,
  /// so this is how such sub-responses reach presync_api_throttled_total.
  /// Runs in the writer actor; may be empty.
  std::function<void(duration retry_after)> on_throttled_sub_response;
};

/// The writer's counters, for tests and metrics.
struct presence_writer_counters {
  uint64_t batches_sent = 0;    ///< $batch POSTs, resends included
  uint64_t writes_answered = 0; ///< write_attempted sent back
  uint64_t batch_failures = 0;  ///< whole-batch failures
  uint64_t token_refreshes = 0; ///< 401s that invalidated the token
  uint64_t retries = 0;         ///< writes kept for a back-off retry
  uint64_t gave_up = 0;         ///< writes answered after their last try
  uint64_t throttled = 0;   ///< 429/503 answers with Retry-After (budget held)
  uint64_t token_waits = 0; ///< batches answered throttled for want of a token
  uint64_t throttled_sub_responses = 0; ///< 429s (and 503s with Retry-After)
                                        ///< inside $batch answers
};

/// Tags the writer's gather timer and internal replies.
using flush_atom = caf::atom_constant<caf::atom("gflush")>;

/// One attempt waiting for, or inside, a $batch.
struct pending_write {
  uint64_t ticket = 0;
  write_request request;
  caf::actor reply_to;
  presence_write write;
  uint32_t tries = 0;   ///< attempts that failed without Retry-After
  mono_time not_before; ///< a retry waits until then
};

struct presence_writer_state {
  presence_writer_args args;
  std::vector<pending_write> pending;
  std::vector<pending_write> retrying; ///< waiting out their back-off
  std::optional<mono_time> flush_at;   ///< the earliest flush scheduled
  mono_time gather_from; ///< when the oldest unsent pending write came
  uint64_t next_batch = 1;
  std::map<uint64_t, std::vector<pending_write>> in_flight;
  std::map<uint64_t, bool> resent; ///< batch id -> resent after a 401
  presence_writer_counters counters;
  std::mt19937_64 jitter;
  uint32_t gave_up_streak = 0; ///< give-ups since the last answered batch
  std::optional<log::rate_limit> log_limit; ///< one line per 10 s per event
  static inline const char* name = "presync.graph.presence_writer";
};

/// Replaces a writer's person -> Graph id pairs.
struct graph_id_update {
  std::map<std::string, std::string> graph_ids;
};

/// Handles write_dispatch (answered to its sender with write_attempted),
/// (get_atom, counters_atom) -> presence_writer_counters and
/// graph_id_update, new person -> Graph id pairs after a directory
/// change.
caf::behavior presence_writer(caf::stateful_actor<presence_writer_state>* self,
                              presence_writer_args args);

/// Spawns a presence writer.
caf::actor spawn_presence_writer(caf::actor_system& sys,
                                 presence_writer_args args);

} // namespace presync::graph

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(presync::graph::presence_writer_counters)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(presync::graph::graph_id_update)
