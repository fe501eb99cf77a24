#include "adapters/connect/kinesis_consumer.hpp"

#include <algorithm>
#include <utility>

namespace presync::connect {

namespace {

const log::logger& consumer_log() {
  static const log::logger logger{"connect.kinesis"};
  return logger;
}

/// Returns the error answer of `op`, or nullopt for a 200.
std::optional<service_error> error_of(std::string_view op,
                                      const kinesis_reply& reply) {
  if (reply.status == 200) {
    return std::nullopt;
  }
  return kinesis::parse_error(op, reply.status, reply.headers, reply.body);
}

} // namespace

kinesis_consumer::kinesis_consumer(kinesis_call call, consumer_config config,
                                   std::map<std::string, std::string> people,
                                   checkpoint_store& store, deliver_fn deliver)
  : call_(std::move(call)), config_(std::move(config)),
    people_(std::move(people)), store_(store), deliver_(std::move(deliver)) {}

mono_time kinesis_consumer::poll(mono_time now) {
  // A closed shard (or the periodic refresh) asks for a new shard list:
  // kinesalite names no ChildShards, so children are found by listing. A
  // failed listing waits for its back-off, never spins.
  if (now >= next_list_) {
    list_shards(now);
  }

  mono_time next = mono_time::max();
  for (auto& [id, r] : readers_) {
    if (finished_.count(id) != 0 || !ready(r)) {
      continue;
    }
    if (now >= r.due) {
      read_shard(r, now);
    }
    if (finished_.count(id) == 0) {
      next = std::min(next, r.due);
    }
  }
  // A shard that finished just now asks for a listing at once.
  return std::max(std::min(next, next_list_), now);
}

std::vector<std::string> kinesis_consumer::active_shards() const {
  std::vector<std::string> out;
  for (const auto& [id, r] : readers_) {
    if (finished_.count(id) == 0 && ready(r)) {
      out.push_back(id);
    }
  }
  return out;
}

void kinesis_consumer::expire_iterator_for_test(const std::string& shard_id) {
  auto i = readers_.find(shard_id);
  if (i != readers_.end()) {
    i->second.expire_next = true;
  }
}

void kinesis_consumer::list_shards(mono_time now) {
  kinesis::list_shards_params params;
  params.stream_name = config_.stream_name;
  std::vector<kinesis::shard> shards;

  // Page through the listing; a failure keeps the old list for now.
  for (int page = 0; page < 100; ++page) {
    auto req = kinesis::build_list_shards(params);
    if (!req) {
      ++stats_.failures;
      break;
    }
    ++stats_.list_shards_calls;
    auto reply = call_(*req);
    if (!reply) {
      ++stats_.failures;
      list_failed(now, reply.err().describe());
      return;
    }
    if (auto e = error_of("ListShards", *reply)) {
      ++(e->err.code == sync_error::throttled ? stats_.throttled
                                              : stats_.failures);
      list_failed(now, e->err.describe());
      return;
    }
    auto parsed = kinesis::parse_list_shards(reply->body);
    if (!parsed) {
      ++stats_.failures;
      list_failed(now, parsed.err().describe());
      return;
    }
    shards.insert(shards.end(), parsed->shards.begin(), parsed->shards.end());
    if (!parsed->next_token) {
      break;
    }
    params = {};
    params.next_token = *parsed->next_token;
  }

  // New shards get a reader; known ones get their updated description.
  std::string added;
  for (auto& s : shards) {
    if (readers_.count(s.shard_id) == 0) {
      added += (added.empty() ? "" : ",") + s.shard_id;
    }
    auto& r = readers_[s.shard_id];
    r.info = std::move(s);
  }
  if (!added.empty()) {
    consumer_log().info("kinesis_shards_listed",
                        {log::kv("stream", config_.stream_name),
                         log::kv("new_shards", added),
                         log::kv("shards", readers_.size())});
  }
  list_backoff_ = duration{0};
  next_list_ = now + config_.relist_interval;
}

void kinesis_consumer::list_failed(mono_time now, const std::string& why) {
  ++stats_.list_failures;
  list_backoff_ = list_backoff_ == duration{0}
                    ? config_.backoff
                    : std::min(list_backoff_ * 2, config_.max_backoff);
  next_list_ = now + list_backoff_;
  log_warning("kinesis_list_failed", "", why, list_backoff_);
}

void kinesis_consumer::log_warning(std::string_view event,
                                   const std::string& shard,
                                   const std::string& why, duration delay) {
  auto lines =
    log_limit_.allow(std::string{event}, std::chrono::steady_clock::now());
  if (lines == 0) {
    return;
  }
  consumer_log().warning(event, {log::kv("stream", config_.stream_name),
                                 log::kv("shard", shard), log::kv("error", why),
                                 log::kv("delay", delay),
                                 log::kv("throttled_total", stats_.throttled),
                                 log::kv("failures_total", stats_.failures),
                                 log::kv("held_back", lines - 1)});
}

bool kinesis_consumer::ready(const reader& r) const {
  // A child waits until each parent this consumer knows is read to its end;
  // a parent no longer listed (trimmed) does not hold it back.
  for (const auto& parent :
       {r.info.parent_shard_id, r.info.adjacent_parent_shard_id}) {
    if (parent && readers_.count(*parent) != 0 &&
        finished_.count(*parent) == 0) {
      return false;
    }
  }
  return true;
}

bool kinesis_consumer::acquire_iterator(reader& r, mono_time now) {
  kinesis::get_shard_iterator_params params;
  params.stream_name = config_.stream_name;
  params.shard_id = r.info.shard_id;
  if (auto checkpoint = store_.get(r.info.shard_id)) {
    params.type = kinesis::iterator_type::after_sequence_number;
    params.starting_sequence_number = *checkpoint;
  } else {
    bool child_of_finished = false;
    for (const auto& parent :
         {r.info.parent_shard_id, r.info.adjacent_parent_shard_id}) {
      child_of_finished |= parent && finished_.count(*parent) != 0;
    }
    params.type =
      child_of_finished ? kinesis::iterator_type::trim_horizon : config_.start;
    if (params.type == kinesis::iterator_type::at_timestamp) {
      params.timestamp_ms = config_.start_timestamp_ms;
    }
  }

  auto req = kinesis::build_get_shard_iterator(params);
  if (!req) {
    ++stats_.failures;
    back_off(r, now, nullptr);
    return false;
  }
  auto reply = call_(*req);
  if (!reply) {
    ++stats_.failures;
    service_error e{"", "", reply.err()};
    back_off(r, now, &e);
    return false;
  }
  if (auto e = error_of("GetShardIterator", *reply)) {
    ++(e->err.code == sync_error::throttled ? stats_.throttled
                                            : stats_.failures);
    back_off(r, now, &*e);
    return false;
  }
  auto iterator = kinesis::parse_get_shard_iterator(reply->body);
  if (!iterator) {
    ++stats_.failures;
    service_error e{"", "", iterator.err()};
    back_off(r, now, &e);
    return false;
  }
  r.iterator = std::move(*iterator);
  return true;
}

void kinesis_consumer::read_shard(reader& r, mono_time now) {
  if (!r.iterator && !acquire_iterator(r, now)) {
    return;
  }
  r.due = now + call_interval();

  // The test knob stands in for an iterator older than five minutes.
  if (r.expire_next) {
    r.expire_next = false;
    ++stats_.expired_iterators;
    r.iterator.reset();
    return;
  }

  kinesis::get_records_params params;
  params.shard_iterator = *r.iterator;
  params.limit = config_.limit;
  auto req = kinesis::build_get_records(params);
  if (!req) {
    ++stats_.failures;
    r.iterator.reset();
    back_off(r, now, nullptr);
    return;
  }
  ++stats_.get_records_calls;
  auto reply = call_(*req);
  if (!reply) {
    ++stats_.failures;
    service_error e{"", "", reply.err()};
    back_off(r, now, &e);
    return;
  }
  if (auto e = error_of("GetRecords", *reply)) {
    if (e->type == "ExpiredIteratorException") {
      // Start again right after the last record handed over.
      ++stats_.expired_iterators;
      r.iterator.reset();
      consumer_log().info(
        "kinesis_iterator_expired",
        {log::kv("stream", config_.stream_name),
         log::kv("shard", r.info.shard_id),
         log::kv("checkpoint", store_.get(r.info.shard_id).value_or("")),
         log::kv("expired_total", stats_.expired_iterators)});
      return;
    }
    ++(e->err.code == sync_error::throttled ? stats_.throttled
                                            : stats_.failures);
    back_off(r, now, &*e);
    return;
  }
  auto parsed = kinesis::parse_get_records(reply->body);
  if (!parsed) {
    // The whole answer is unreadable: ask again from the checkpoint.
    ++stats_.failures;
    r.iterator.reset();
    service_error e{"", "", parsed.err()};
    back_off(r, now, &e);
    return;
  }

  // The lag is the worst shard's: a reader that finishes reports 0.
  r.millis_behind =
    parsed->next_shard_iterator ? parsed->millis_behind_latest : 0;
  stats_.millis_behind_latest = 0;
  for (const auto& [id, other] : readers_) {
    stats_.millis_behind_latest =
      std::max(stats_.millis_behind_latest, other.millis_behind);
  }

  // Hand the records over first, then checkpoint the last of them.
  if (r.backoff != duration{0}) {
    consumer_log().info("kinesis_recovered",
                        {log::kv("stream", config_.stream_name),
                         log::kv("shard", r.info.shard_id)});
  }
  r.backoff = duration{0};
  hand_over(parsed->records);
  if (!parsed->records.empty()) {
    store_.put(r.info.shard_id, parsed->records.back().sequence_number);
  }
  if (!parsed->next_shard_iterator) {
    // Closed and read to its end: its children come with the next listing.
    finished_.insert(r.info.shard_id);
    ++stats_.shards_finished;
    next_list_ = now;
    r.iterator.reset();
    consumer_log().info("kinesis_shard_finished",
                        {log::kv("stream", config_.stream_name),
                         log::kv("shard", r.info.shard_id),
                         log::kv("finished_total", stats_.shards_finished)});
    return;
  }
  r.iterator = std::move(*parsed->next_shard_iterator);
}

void kinesis_consumer::hand_over(const std::vector<kinesis::record>& records) {
  for (const auto& rec : records) {
    ++stats_.records;
    auto event = parse_agent_event(rec.data);
    if (!event) {
      ++stats_.malformed;
      continue;
    }
    switch (filter_.offer(*event)) {
    case filter_verdict::duplicate:
      ++stats_.duplicates;
      continue;
    case filter_verdict::stale:
      ++stats_.stale;
      continue;
    case filter_verdict::after_logout:
      ++stats_.after_logout;
      continue;
    case filter_verdict::apply:
      break;
    }
    auto person = people_.find(event->user_id);
    if (person == people_.end()) {
      ++stats_.unmapped;
      continue;
    }
    ++stats_.applied;
    deliver_(actors::connect_change{person->second, event->effective_state,
                                    event->timestamp_ms},
             *event);
  }
  if (handed_over_) {
    handed_over_();
  }
}

void kinesis_consumer::back_off(reader& r, mono_time now,
                                const service_error* why) {
  r.backoff = r.backoff == duration{0}
                ? config_.backoff
                : std::min(r.backoff * 2, config_.max_backoff);
  r.due = now + std::max(r.backoff, call_interval());
  const bool throttled = why && why->err.code == sync_error::throttled;
  log_warning(throttled ? "kinesis_throttled" : "kinesis_call_failed",
              r.info.shard_id, why ? why->err.describe() : "request not built",
              r.backoff);
}

duration kinesis_consumer::call_interval() const {
  const int per_second = std::max(1, config_.calls_per_second);
  return duration{(1000 + per_second - 1) / per_second};
}

kinesis_call make_kinesis_call(aws::signed_caller& caller) {
  return [&caller](const kinesis::request& req) -> expected<kinesis_reply> {
    aws::call_request call;
    call.method = "POST";
    call.path = "/";
    call.headers = req.headers;
    call.body = req.body;
    auto reply = caller.call(call);
    if (!reply) {
      return reply.err();
    }
    return kinesis_reply{reply->status, aws::to_aws_headers(reply->headers),
                         std::move(reply->body)};
  };
}

} // namespace presync::connect
