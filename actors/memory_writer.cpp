#include "actors/memory_writer.hpp"

#include "actors/clock.hpp"

namespace presync::actors {

namespace {

/// Returns the outcome of a scripted failure: 429 and 5xx are throttled
/// (retried after Retry-After), anything else gives the write up.
write_outcome outcome_of(const scripted_failure& f) {
  write_outcome o;
  o.http_status = f.status;
  o.retry_after = f.retry_after.value_or(duration{0});
  o.result = (f.status == 429 || f.status >= 500)
               ? write_outcome::kind::throttled
               : write_outcome::kind::failed;
  o.reason = "scripted failure " + std::to_string(f.status);
  return o;
}

} // namespace

memory_writer::memory_writer(caf::actor_config& cfg)
  : caf::event_based_actor(cfg) {}

caf::behavior memory_writer::make_behavior() {
  return {
    [this](const write_dispatch& d) {
      const auto& req = d.request;
      write_record rec{now_of(this),   req.to,   req.person,
                       req.describe(), req.kind, std::nullopt};
      auto outcome = write_outcome::ok();

      // Refreshes keep a session alive and are never failed by a script.
      auto& script = failures_[{req.person, req.to}];
      if (req.kind != write_kind::refresh && !script.empty()) {
        outcome = outcome_of(script.front());
        rec.result = script.front().status;
        script.pop_front();
      }

      records_.push_back(std::move(rec));
      auto reply_to = caf::actor_cast<caf::actor>(current_sender());
      send(reply_to, write_attempted{d.ticket, std::move(outcome)});
    },
    [this](scripted_failure& f) {
      auto key = std::make_pair(f.person, f.to);
      failures_[key].push_back(std::move(f));
    },
    [this](caf::get_atom, records_atom) { return write_records{records_}; },
  };
}

caf::actor spawn_memory_writer(caf::actor_system& sys) {
  return sys.spawn<memory_writer>();
}

} // namespace presync::actors
