#include "adapters/connect/connect_actors.hpp"

#include "actors/clock.hpp"
#include "adapters/log/log.hpp"

#include <optional>
#include <utility>
#include <vector>

namespace presync::connect {

namespace {

/// Drives one kinesis_consumer from its own poll timer.
class consumer_actor : public caf::event_based_actor {
 public:
  consumer_actor(caf::actor_config& cfg, consumer_setup setup,
                 caf::actor supervisor)
    : caf::event_based_actor(cfg), supervisor_(std::move(supervisor)),
      consumer_(std::move(setup.call), std::move(setup.config),
                std::move(setup.people), *setup.store,
                [this](const actors::connect_change& change,
                       const agent_event&) { batch_.push_back(change); }) {
    // One message per GetRecords answer, sent before its checkpoint is
    // stored: the checkpoint must not overtake the events it covers.
    consumer_.set_handed_over([this] {
      if (!batch_.empty()) {
        send(supervisor_, actors::connect_batch{std::move(batch_)});
        batch_.clear();
      }
    });
  }

  caf::behavior make_behavior() override {
    send(this, kpoll_atom::value);
    return {
      [this](kpoll_atom) {
        const auto now = actors::now_of(this);
        const auto next = consumer_.poll(now);
        delayed_send(this, actors::delay_until(next, now), kpoll_atom::value);
      },
      [this](caf::get_atom, kstats_atom) { return consumer_.stats(); },
      [this](people_update& u) { consumer_.set_people(std::move(u.people)); },
    };
  }

  const char* name() const override { return "presync.kinesis_consumer"; }

 private:
  caf::actor supervisor_;
  std::vector<actors::connect_change> batch_; ///< of the answer being read
  kinesis_consumer consumer_;
};

/// The Connect-side writer.
class connect_writer : public caf::event_based_actor {
 public:
  connect_writer(caf::actor_config& cfg, connect_client* client,
                 std::map<std::string, std::string> people)
    : caf::event_based_actor(cfg), client_(*client),
      people_(std::move(people)) {}

  caf::behavior make_behavior() override {
    return {
      [this](const actors::write_dispatch& d) {
        ++stats_.writes;
        auto outcome = attempt(d.request);
        log_trouble(outcome);
        auto reply_to = caf::actor_cast<caf::actor>(current_sender());
        send(reply_to, actors::write_attempted{d.ticket, std::move(outcome)});
      },
      [this](caf::get_atom, wstats_atom) { return stats_; },
      [this](people_update& u) { people_ = std::move(u.people); },
    };
  }

  const char* name() const override { return "presync.connect_writer"; }

 private:
  static write_outcome failed(std::string reason, int status = 0) {
    write_outcome o;
    o.result = write_outcome::kind::failed;
    o.http_status = status;
    o.reason = std::move(reason);
    return o;
  }

  /// Maps a failed call to throttled (retry) or failed (give up).
  static write_outcome outcome_of(const error& e) {
    write_outcome o;
    o.http_status = e.http_status;
    o.reason = e.describe();
    if (e.code == sync_error::throttled || e.code == sync_error::unavailable ||
        e.code == sync_error::timeout ||
        e.code == sync_error::connection_failed) {
      o.result = write_outcome::kind::throttled;
      o.retry_after = e.retry_after;
    } else {
      o.result = write_outcome::kind::failed;
    }
    return o;
  }

  write_outcome attempt(const write_request& req) {
    if (req.to != side::connect) {
      return failed("connect writer: a Teams write was sent to Connect");
    }
    if (req.kind != write_kind::write) {
      // Connect has no session to refresh; a cancel never reaches a writer.
      return write_outcome::ok();
    }
    auto user = people_.find(req.person);
    if (user == people_.end()) {
      return failed("connect writer: no Connect user for " + req.person);
    }

    auto status_id = resolve(req.status);
    if (!status_id) {
      return outcome_of(status_id.err());
    }

    ++stats_.api_calls;
    auto reply = client_.call(
      build_put_user_status(client_.instance_id(), user->second, *status_id));
    if (!reply) {
      return outcome_of(reply.err());
    }
    // PutUserStatus answers 200 whether the status applies now or, while
    // the agent is on a contact, becomes the next one; the person knew
    // which when it decided the write (spec/connect.md §2.2).
    if (reply->status >= 200 && reply->status < 300) {
      if (req.during_contact) {
        write_outcome o;
        o.result = write_outcome::kind::deferred;
        o.reason = "agent on a contact: set as the next status";
        return o;
      }
      return write_outcome::ok();
    }
    return outcome_of(error_of("PutUserStatus", *reply));
  }

  /// Says in the log when Connect throttled or failed a write: a warning
  /// `connect_write_throttled` (429, throttling codes, 5xx, no answer: the
  /// queue retries) or `connect_write_failed`, at most once per 10 s each
  /// with the count held back.
  void log_trouble(const write_outcome& o) {
    static const log::logger writer_log{"connect.writer"};
    const bool throttled = o.result == write_outcome::kind::throttled;
    if (!throttled && o.result != write_outcome::kind::failed) {
      return;
    }
    const std::string event =
      throttled ? "connect_write_throttled" : "connect_write_failed";
    ++(throttled ? stats_.throttled : stats_.failed);
    auto lines = log_limit_.allow(event, std::chrono::steady_clock::now());
    if (lines == 0) {
      return;
    }
    writer_log.warning(
      event, {log::kv("status", o.http_status), log::kv("error", o.reason),
              log::kv("retry_after", o.retry_after),
              log::kv("total", throttled ? stats_.throttled : stats_.failed),
              log::kv("held_back", lines - 1)});
  }

  /// Returns the id of the status named `name`, reloading the cache once
  /// when the name is not in it.
  expected<std::string> resolve(const std::string& name) {
    if (auto i = statuses_.find(name); i != statuses_.end()) {
      return i->second.id;
    }
    ++stats_.status_refreshes;
    const auto before = client_.calls_sent();
    auto all = list_all_agent_statuses(client_);
    stats_.api_calls += client_.calls_sent() - before;
    if (!all) {
      return all.err();
    }
    statuses_ = index_by_name(*all);
    if (auto i = statuses_.find(name); i != statuses_.end()) {
      return i->second.id;
    }
    return make_error(sync_error::not_found,
                      "connect writer: no agent status named '" + name + "'");
  }

  connect_client& client_;
  std::map<std::string, std::string> people_;
  std::map<std::string, agent_status_summary> statuses_;
  writer_stats stats_;
  log::rate_limit log_limit_{std::chrono::seconds{10}};
};

} // namespace

caf::actor spawn_consumer_actor(caf::actor_system& sys, consumer_setup setup,
                                caf::actor supervisor) {
  return sys.spawn<consumer_actor, caf::detached>(std::move(setup),
                                                  std::move(supervisor));
}

caf::actor spawn_connect_writer(caf::actor_system& sys, connect_client& client,
                                std::map<std::string, std::string> people) {
  return sys.spawn<connect_writer, caf::detached>(&client, std::move(people));
}

} // namespace presync::connect
