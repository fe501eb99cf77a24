// Reads the presence of every licensed user of one tenant once per
// teams_poll_interval with getPresencesByUserId, in ceil(N/650) batches
// spread across the interval, and tells the supervisor only what changed
// (spec/graph.md §3.4).
//
// Failures: a 429/503 with Retry-After holds the shared presence budget
// (budget.hpp). A failure without Retry-After (5xx, 429 without it,
// timeout, connection refused or reset) starts an exponential back-off
// with jitter (backoff.hpp) for the whole poller: the failed batch is read
// again when the back-off ends if that is before its turn in the next
// cycle, and batches whose turn falls inside the back-off are skipped
// (counted), so an outage costs a request per back-off step instead of
// ceil(N/650) per interval. Consecutive failures double the delay up to
// `backoff.cap`. A batch that got no token waits instead for the token
// provider's next try (token_provider.hpp), so polling resumes as soon as
// a token can be had. The poller never gives up, and every back-off step is a
// warning line (`presence_poll_backoff`) and a count; the first success
// ends it (info `presence_poll_recovered`). A 429/503 that names a
// Retry-After is a warning `presence_poll_throttled` (at most one line per
// 10 s, with the count held back).
#pragma once

#include "actors/messages.hpp"
#include "adapters/graph/backoff.hpp"
#include "adapters/graph/budget.hpp"
#include "adapters/graph/presence.hpp"
#include "adapters/graph/token_provider.hpp"
#include "adapters/http/client.hpp"
#include "adapters/log/log.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace presync::graph {

/// One user the poller reads.
struct polled_user {
  std::string graph_id;
  std::string person;
};

/// Replaces the users a poller reads.
struct polled_users_update {
  std::vector<polled_user> users;
};

/// What a presence poller needs.
struct presence_poller_args {
  std::shared_ptr<http::client> http;
  std::shared_ptr<token_provider> tokens;
  std::shared_ptr<presence_budget> budget;
  endpoints where;
  std::vector<polled_user> users;
  caf::actor supervisor; ///< receives teams_observation
  duration interval = std::chrono::seconds{60};
  uint64_t max_cycles = 0; ///< 0: poll until stopped
  http::request_options options;
  backoff_policy backoff;   ///< failures without Retry-After
  uint64_t jitter_seed = 0; ///< 0: seeded from std::random_device
  std::string tenant;       ///< for log lines
};

/// The poller's counters, for tests and metrics.
struct presence_poller_counters {
  uint64_t cycles_started = 0;
  uint64_t cycles_completed = 0; ///< every batch of the cycle answered
  uint64_t requests_sent = 0;    ///< getPresencesByUserId POSTs
  uint64_t batches_failed = 0;   ///< incl. skipped for want of budget
  uint64_t backoffs = 0;         ///< failures that started a back-off step
  uint64_t batches_skipped = 0;  ///< not sent: their turn was backed off
  uint64_t retries = 0;          ///< batches read again after a back-off
  uint64_t observations = 0;     ///< teams_observation sent
  uint64_t last_cycle_requests = 0;
  uint64_t last_cycle_readings = 0;
  /// From the last completed cycle's start to its last answer; batches
  /// are spread over the interval, so above the interval means falling
  /// behind.
  duration last_cycle_duration{0};
  std::string last_failure; ///< error of the last failed batch
};

/// Tags a cycle start (poll_atom) and a batch start (poll_atom, cycle, i).
using poll_atom = caf::atom_constant<caf::atom("gpoll")>;

/// The batches of one cycle still out.
struct poll_cycle {
  std::vector<poll_batch> batches;
  size_t open = 0;
  uint64_t requests = 0;
  uint64_t readings = 0;
  mono_time started{};
};

struct presence_poller_state {
  presence_poller_args args;
  std::vector<std::string> ids;
  std::map<std::string, std::string> person_of; ///< lower-case Graph id
  std::map<std::string, std::string> last_seen; ///< lower-case id -> key
  std::map<uint64_t, poll_cycle> cycles;
  uint64_t cycle = 0;
  presence_poller_counters counters;
  uint32_t failures = 0; ///< consecutive failures without Retry-After
  std::optional<mono_time> backoff_until;
  std::mt19937_64 jitter;
  std::optional<log::rate_limit> log_limit; ///< one line per 10 s per event
  uint64_t throttled = 0;                   ///< answers that held the budget
  static inline const char* name = "presync.graph.presence_poller";
};

/// Polls from the moment it is spawned. Handles (get_atom, counters_atom)
/// -> presence_poller_counters and polled_users_update, which replaces the
/// users from the next cycle on. A failed batch is counted and read again
/// in the next cycle, or earlier after a back-off (see the top of this
/// file).
caf::behavior presence_poller(caf::stateful_actor<presence_poller_state>* self,
                              presence_poller_args args);

/// Spawns a presence poller.
caf::actor spawn_presence_poller(caf::actor_system& sys,
                                 presence_poller_args args);

} // namespace presync::graph

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(presync::graph::presence_poller_counters)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(presync::graph::polled_users_update)
