// Request handling of the Connect emulator, free of any socket code: the
// REST operations of spec section 2 behind SigV4, and the control API.
#pragma once

#include "emulators/connect/model.hpp"
#include "emulators/connect/sigv4.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace presync::connect_emulator {

/// One HTTP response.
struct http_response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::int64_t delay_ms = 0; ///< latency knob: wait before sending
};

/// Fault and pacing knobs, settable through the control API.
struct knobs {
  double throttle_rps = 0;   ///< 0 = no throttling
  double throttle_burst = 0; ///< 0 = same as rps
  std::string throttle_error = "ThrottlingException";
  double error_rate = 0; ///< fraction of requests failing with 5xx
  int error_status = 500;
  std::string error_code = "InternalServiceException";
  std::int64_t latency_ms = 0;
  int fail_next = 0; ///< the next N REST requests fail as below
  int fail_next_status = 500;
  std::string fail_next_code = "InternalServiceException";
};

/// Per-operation request counters.
struct op_counters {
  std::uint64_t requests = 0;
  std::uint64_t errors = 0;
  std::uint64_t throttled = 0;
  std::uint64_t auth_failures = 0;
};

/// Delivery of agent events: returns false (and sets `why`) on failure.
using event_sink =
  std::function<bool(const std::vector<std::string>& records,
                     const std::vector<std::string>& keys, std::string& why)>;

/// Emulator settings that concern request handling.
struct service_config {
  std::string access_key_id = "testing";
  std::string secret_access_key = "testing";
};

/// Dispatches requests; call it from one thread.
class service {
 public:
  service(model& m, service_config cfg);

  /// Sets where agent events go (Kinesis); without one they stay in memory.
  void set_sink(event_sink sink, std::string description);

  /// Handles one request. `loopback_peer` gates the control API.
  http_response handle(const sigv4::request& req, bool loopback_peer);

  /// Emits due heartbeats and delivers pending events.
  void tick();

 private:
  http_response handle_control(const sigv4::request& req);
  http_response handle_rest(const sigv4::request& req);
  void deliver();
  bool take_token();

  model& model_;
  service_config cfg_;
  knobs knobs_;
  std::map<std::string, op_counters> counters_;
  event_sink sink_;
  std::string sink_description_;
  std::size_t delivered_ = 0;
  std::uint64_t put_requests_ = 0;
  std::uint64_t put_failures_ = 0;
  std::string last_sink_error_;
  double tokens_ = 0;
  std::int64_t tokens_at_ms_ = 0;
  std::mt19937_64 rng_{12345};
};

} // namespace presync::connect_emulator
