// The one presence budget of a tenant (spec/graph.md §6.1): presence reads
// and writes together may make 1,500 requests per 30 s, every $batch
// sub-request counting as one, and a 429/503 on any presence call holds
// the whole budget until its Retry-After has passed.
//
// How it relates to the write queue's own bucket: the tenant's Teams write
// queue (protocol/write_queue.hpp) paces writes per person and coalesces
// them; it keeps its own token_bucket so that it never dispatches more
// than the budget could carry. This budget is the authority shared by the
// presence writer and the presence poller: the writer takes one unit per
// sub-request before it sends a $batch and holds back what it cannot take
// (those writes wait in the writer, not in the queue); the poller takes one
// unit per getPresencesByUserId. Configure the queue's bucket at or below
// this budget minus the poller's share, so the writer rarely waits here.
#pragma once

#include "protocol/time.hpp"
#include "protocol/write_queue.hpp"

#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>

namespace presync::graph {

/// A thread-safe token bucket with a hold, shared by the actors of one
/// tenant. Time comes in as an argument.
class presence_budget {
 public:
  /// Allows `requests` per `window`, at most `requests` back to back.
  explicit presence_budget(double requests = 1500,
                           duration window = std::chrono::seconds{30});

  /// Takes up to `wanted` units at `now` and returns how many it took
  /// (0 while held or empty).
  size_t take(size_t wanted, mono_time now);

  /// Changes the allowance (config reload); tokens held are kept up to
  /// the new capacity.
  void reconfigure(double requests, duration window);

  /// Holds every caller until `until` (a later hold wins).
  void hold_until(mono_time until);

  /// Returns when one unit will be there (now if one is).
  mono_time next_available(mono_time now) const;

  /// Returns the end of the current hold, if one lasts beyond `now`.
  std::optional<mono_time> held_until(mono_time now) const;

 private:
  mutable std::mutex mutex_;
  token_bucket bucket_;
  std::optional<mono_time> hold_;
};

} // namespace presync::graph
