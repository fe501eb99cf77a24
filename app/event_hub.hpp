// Server-sent events of presence changes (DESIGN.md §5,
// /v1/tenants/{t}/directory/events): one thread fans each tenant's new
// events out to every open stream, replays what a resuming client missed
// from the board's ring, tells a client that missed too much to reload
// (event `reset`), and sends a heartbeat comment to every stream so that
// proxies keep the connection and dead peers are noticed.
#pragma once

#include "adapters/http/server.hpp"
#include "app/tenant_directory.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace presync::app {

/// Fans board events out to streams. Destroy it before the boards.
class event_hub {
 public:
  explicit event_hub(std::chrono::milliseconds heartbeat = std::chrono::seconds{
                       15});
  ~event_hub();

  event_hub(const event_hub&) = delete;
  event_hub& operator=(const event_hub&) = delete;

  /// Streams `dir`'s events after `after` to `stream`; with `reset`, a
  /// reset event comes first (the client's Last-Event-ID was unusable).
  void subscribe(tenant_directory& dir,
                 std::shared_ptr<http::event_stream> stream, uint64_t after,
                 bool reset);

  /// Returns the number of open subscriptions.
  size_t subscribers() const;

  /// Returns the number of events sent to streams so far (all streams).
  uint64_t delivered() const;

 private:
  struct subscription {
    tenant_directory* dir = nullptr;
    std::shared_ptr<http::event_stream> stream;
    uint64_t after = 0;
    bool reset = false;
  };

  void run();
  void wake();
  bool fan_out(subscription& s, bool beat);

  std::chrono::milliseconds heartbeat_;
  mutable std::mutex mutex_; ///< guards the members below
  std::condition_variable cv_;
  std::vector<subscription> subs_;
  std::set<presence_board*> listened_;
  bool dirty_ = false;
  bool stop_ = false;
  uint64_t delivered_ = 0;
  std::thread thread_;
};

} // namespace presync::app
