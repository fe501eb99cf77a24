// The write queue of one side of one tenant: a token bucket that also obeys
// the remote side's Retry-After, in front of a queue that coalesces per
// person (DESIGN.md §2, "Rate limiter", and §4, "Failures and throttling").
//
// Plain C++ with time passed in: actors/write_queue_actor wraps it in
// production, the scenario runner drives it directly.
#pragma once

#include "protocol/messages.hpp"
#include "protocol/time.hpp"

#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace presync {

/// A token bucket: `capacity` tokens, refilled at `refill_per_second`.
class token_bucket {
 public:
  token_bucket(double capacity, double refill_per_second);

  /// Takes one token if there is one at `now`.
  bool try_take(mono_time now);

  /// Returns when the next token will be there (now if one is).
  mono_time next_token(mono_time now) const;

  void reconfigure(double capacity, double refill_per_second);

 private:
  void refill(mono_time now);

  double capacity_;
  double refill_per_ms_;
  double tokens_;
  std::optional<mono_time> last_;
};

struct write_queue_settings {
  /// Requests per `window` (Graph presence: 1,500 per 30 s).
  double requests_per_window = 1500;
  duration window = std::chrono::seconds{30};
  /// Requests that may go out back to back.
  double burst = 1500;
  /// Retry-After used when a 429/5xx carries none.
  duration default_retry_after = std::chrono::seconds{5};
};

/// What one call into the queue asks of its owner.
struct queue_effects {
  /// An attempt to send now; report back with on_result(ticket, ...).
  struct dispatch {
    uint64_t ticket;
    write_request request;
  };
  /// Tells a person how its request went (the owner forwards these).
  struct result {
    write_request request;
    write_outcome outcome;
  };

  std::vector<dispatch> dispatches;
  std::vector<result> results;
  std::vector<write_request> waiting; ///< newly held back: rate_limited
};

class write_queue {
 public:
  explicit write_queue(write_queue_settings settings = {});

  /// Queues a write or refresh, replacing this person's unsent one, or
  /// withdraws it (write_kind::cancel, reported as a `cancelled` result).
  /// Sends at once when allowed.
  void submit(write_request req, mono_time now, queue_effects& out);

  /// Reports how the attempt `ticket` went.
  void on_result(uint64_t ticket, const write_outcome& outcome, mono_time now,
                 queue_effects& out);

  /// Returns when on_wakeup should be called next, if anything waits.
  std::optional<mono_time> next_wakeup(mono_time now) const;

  /// Sends what may go now (Retry-After passed, tokens refilled).
  void on_wakeup(mono_time now, queue_effects& out);

  /// Returns the instant until which Retry-After holds every write back.
  std::optional<mono_time> blocked_until() const { return blocked_until_; }

  size_t waiting_count() const { return waiting_.size(); }
  size_t in_flight_count() const { return in_flight_.size(); }

  void reconfigure(const write_queue_settings& settings);

 private:
  void pump(mono_time now, queue_effects& out);
  bool blocked(mono_time now) const {
    return blocked_until_ && now < *blocked_until_;
  }

  write_queue_settings settings_;
  token_bucket bucket_;
  std::optional<mono_time> blocked_until_;
  uint64_t next_ticket_ = 1;

  // Unsent requests in arrival order, one per person; a newer one takes the
  // place of the older.
  std::list<write_request> waiting_;
  std::unordered_map<std::string, std::list<write_request>::iterator> index_;

  // Attempts sent and not answered yet, by ticket; one per person at most.
  std::unordered_map<uint64_t, write_request> in_flight_;
  std::unordered_map<std::string, uint64_t> in_flight_by_person_;
  // Attempts in flight that their person withdrew: not sent again when
  // they come back throttled.
  std::unordered_set<uint64_t> withdrawn_in_flight_;
};

} // namespace presync
