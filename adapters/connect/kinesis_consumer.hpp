// The agent event consumer (spec/connect.md §4): lists the stream's shards,
// reads each open shard with GetRecords at a bounded rate, finishes a
// parent shard before its children, re-acquires expired iterators from the
// checkpoint and backs off when throttled. Each record is parsed, filtered
// and handed over as a connect_change; malformed records are counted and
// skipped. No threads and no clock of its own: poll() is driven by one
// actor (kinesis_consumer_actor.hpp) or by a test.
//
// What it logs (component `connect.kinesis`, repeated warnings at most
// once per 10 s per event, with the count held back): warning
// `kinesis_throttled` and `kinesis_call_failed` when a call starts or
// extends a back-off, info `kinesis_recovered` when a shard reads again
// after one, info `kinesis_iterator_expired`, info `kinesis_shard_finished`
// when a closed shard was read to its end, info `kinesis_shards_listed`
// when the listing shows shards not seen before (a split or merge).
#pragma once

#include "actors/messages.hpp"
#include "adapters/aws/signed_call.hpp"
#include "adapters/aws/sigv4.hpp"
#include "adapters/connect/agent_event.hpp"
#include "adapters/connect/agent_event_filter.hpp"
#include "adapters/connect/checkpoint_store.hpp"
#include "adapters/connect/kinesis.hpp"
#include "adapters/log/log.hpp"
#include "protocol/error.hpp"
#include "protocol/time.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace presync::connect {

/// A raw answer of a Kinesis call.
struct kinesis_reply {
  int status = 0;
  std::vector<aws::http_header> headers;
  std::string body;
};

/// Signs and sends one Kinesis request; fails only without an HTTP answer.
using kinesis_call =
  std::function<expected<kinesis_reply>(const kinesis::request&)>;

/// Settings of the consumer.
struct consumer_config {
  std::string stream_name;
  /// Where a shard without a checkpoint starts (TRIM_HORIZON or LATEST).
  /// Children of a shard this consumer finished always start at
  /// TRIM_HORIZON, so nothing between parent and child is skipped.
  kinesis::iterator_type start = kinesis::iterator_type::latest;
  /// With start AT_TIMESTAMP: the instant (Unix ms) reading begins at.
  /// (kinesalite 3.3.3 never answers AT_TIMESTAMP when no record is that
  /// recent, so `presync run` starts from LATEST instead.)
  std::optional<int64_t> start_timestamp_ms;
  /// GetRecords calls per second per shard (Kinesis allows 5).
  int calls_per_second = 5;
  /// Records per GetRecords call.
  int limit = 1000;
  /// First back-off after throttling or a failure; doubles up to the cap.
  duration backoff = std::chrono::milliseconds{500};
  duration max_backoff = std::chrono::seconds{10};
  /// How often the shard list is refreshed even without a closed shard.
  duration relist_interval = std::chrono::seconds{60};
};

/// Counters of the consumer.
struct consumer_stats {
  uint64_t get_records_calls = 0;
  uint64_t records = 0;      ///< records received
  uint64_t applied = 0;      ///< events handed to the supervisor
  uint64_t malformed = 0;    ///< records that did not parse
  uint64_t unmapped = 0;     ///< applied events of agents no person has
  uint64_t duplicates = 0;   ///< filter: duplicate
  uint64_t stale = 0;        ///< filter: stale
  uint64_t after_logout = 0; ///< filter: heartbeat after logout
  uint64_t expired_iterators = 0;
  uint64_t throttled = 0;
  uint64_t failures = 0; ///< other failed calls
  uint64_t list_shards_calls = 0;
  uint64_t list_failures = 0; ///< ListShards calls failed or throttled
  uint64_t shards_finished = 0;
  /// The largest MillisBehindLatest of the open shards' last answers.
  int64_t millis_behind_latest = 0;
};

/// Receives one applied event: the change for the supervisor and the event
/// it came from (for metrics and tests).
using deliver_fn =
  std::function<void(const actors::connect_change&, const agent_event&)>;

/// Called after the events of one GetRecords answer were delivered and
/// before its checkpoint is stored, so that an owner who gathers them can
/// pass them on ahead of the checkpoint.
using handed_over_fn = std::function<void()>;

/// Reads a stream; one reader per open shard.
class kinesis_consumer {
 public:
  /// `people` maps an agent's UserId to its person id. `store` must outlive
  /// the consumer.
  kinesis_consumer(kinesis_call call, consumer_config config,
                   std::map<std::string, std::string> people,
                   checkpoint_store& store, deliver_fn deliver);

  /// Does every call that is due at `now` and returns when the next one is
  /// due. Never fails: errors are counted and retried later.
  mono_time poll(mono_time now);

  /// Sets what is called after each GetRecords answer's events (may be
  /// empty).
  void set_handed_over(handed_over_fn fn) { handed_over_ = std::move(fn); }

  /// Returns the counters so far.
  const consumer_stats& stats() const { return stats_; }

  /// Replaces the UserId -> person map (the directory changed).
  void set_people(std::map<std::string, std::string> people) {
    people_ = std::move(people);
  }

  /// Returns the ids of the shards currently read (open and ready).
  std::vector<std::string> active_shards() const;

  /// Returns the ids of the shards read to their end.
  std::set<std::string> finished_shards() const { return finished_; }

  /// Test knob: the next GetRecords of `shard_id` is answered as
  /// ExpiredIteratorException without being sent, so the reader must
  /// re-acquire its iterator from the checkpoint.
  void expire_iterator_for_test(const std::string& shard_id);

 private:
  struct reader {
    kinesis::shard info;
    std::optional<std::string> iterator;
    mono_time due{};
    duration backoff{0};
    bool expire_next = false;
    int64_t millis_behind = 0; ///< of the last GetRecords answer
  };

  void list_shards(mono_time now);
  bool ready(const reader& r) const;
  void read_shard(reader& r, mono_time now);
  bool acquire_iterator(reader& r, mono_time now);
  void hand_over(const std::vector<kinesis::record>& records);
  void back_off(reader& r, mono_time now, const service_error* why);
  void list_failed(mono_time now, const std::string& why);
  void log_warning(std::string_view event, const std::string& shard,
                   const std::string& why, duration delay);
  duration call_interval() const;

  kinesis_call call_;
  consumer_config config_;
  std::map<std::string, std::string> people_;
  checkpoint_store& store_;
  deliver_fn deliver_;
  handed_over_fn handed_over_;
  agent_event_filter filter_;
  std::map<std::string, reader> readers_;
  std::set<std::string> finished_;
  /// When the shard list is read next: at once after a shard finished,
  /// later after a failure (list_backoff_) or for the periodic refresh.
  mono_time next_list_{};
  duration list_backoff_{0};
  consumer_stats stats_;
  log::rate_limit log_limit_{std::chrono::seconds{10}};
};

/// Returns a kinesis_call that signs and sends with `caller` (service
/// kinesis), which must outlive the returned function.
kinesis_call make_kinesis_call(aws::signed_caller& caller);

} // namespace presync::connect
