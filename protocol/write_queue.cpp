#include "protocol/write_queue.hpp"

#include <algorithm>
#include <cmath>

namespace presync {

// -- token_bucket -------------------------------------------------------------

token_bucket::token_bucket(double capacity, double refill_per_second)
  : capacity_(capacity), refill_per_ms_(refill_per_second / 1000.0),
    tokens_(capacity) {
  // nop
}

void token_bucket::refill(mono_time now) {
  if (last_ && now > *last_) {
    auto elapsed = static_cast<double>((now - *last_).count());
    tokens_ = std::min(capacity_, tokens_ + elapsed * refill_per_ms_);
  }
  if (!last_ || now > *last_) {
    last_ = now;
  }
}

bool token_bucket::try_take(mono_time now) {
  refill(now);
  if (tokens_ < 1.0) {
    return false;
  }
  tokens_ -= 1.0;
  return true;
}

mono_time token_bucket::next_token(mono_time now) const {
  auto tokens = tokens_;
  if (last_ && now > *last_) {
    auto elapsed = static_cast<double>((now - *last_).count());
    tokens = std::min(capacity_, tokens + elapsed * refill_per_ms_);
  }
  if (tokens >= 1.0 || refill_per_ms_ <= 0) {
    return now;
  }
  auto wait_ms = std::ceil((1.0 - tokens) / refill_per_ms_);
  return now + duration{static_cast<duration::rep>(wait_ms)};
}

void token_bucket::reconfigure(double capacity, double refill_per_second) {
  capacity_ = capacity;
  refill_per_ms_ = refill_per_second / 1000.0;
  tokens_ = std::min(tokens_, capacity_);
}

// -- write_queue
// ----------------------------------------------------------------

namespace {

double per_second(const write_queue_settings& s) {
  auto window_s = static_cast<double>(s.window.count()) / 1000.0;
  return window_s > 0 ? s.requests_per_window / window_s : 0.0;
}

} // namespace

write_queue::write_queue(write_queue_settings settings)
  : settings_(settings), bucket_(settings.burst, per_second(settings)) {
  // nop
}

void write_queue::reconfigure(const write_queue_settings& settings) {
  settings_ = settings;
  bucket_.reconfigure(settings.burst, per_second(settings));
}

void write_queue::submit(write_request req, mono_time now, queue_effects& out) {
  auto found = index_.find(req.person);

  // A cancel withdraws what has not been sent and says so. An attempt in
  // flight cannot be called back: the person handles its late result, but
  // should it be throttled it is not sent again.
  if (req.kind == write_kind::cancel) {
    if (found != index_.end()) {
      out.results.push_back(
        {std::move(*found->second), write_outcome::cancelled()});
      waiting_.erase(found->second);
      index_.erase(found);
    } else if (auto f = in_flight_by_person_.find(req.person);
               f != in_flight_by_person_.end() &&
               in_flight_.at(f->second).same_value(req)) {
      withdrawn_in_flight_.insert(f->second);
    }
    return;
  }

  // Coalesce: the newer request takes the older one's place in line. A
  // refresh never replaces a write, which re-posts the session anyway.
  auto person = req.person;
  if (found != index_.end()) {
    if (req.kind == write_kind::refresh &&
        found->second->kind == write_kind::write) {
      return;
    }
    *found->second = std::move(req);
  } else {
    waiting_.push_back(std::move(req));
    index_.emplace(person, std::prev(waiting_.end()));
  }
  pump(now, out);

  // Tell the person when its write is held back by the limits (not merely
  // queued behind its own attempt in flight).
  auto still = index_.find(person);
  if (still != index_.end() && still->second->kind == write_kind::write &&
      !in_flight_by_person_.contains(person)) {
    out.waiting.push_back(*still->second);
  }
}

void write_queue::pump(mono_time now, queue_effects& out) {
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    auto& req = *it;

    // One attempt per person at a time keeps a person's writes in order.
    if (in_flight_by_person_.contains(req.person)) {
      ++it;
      continue;
    }

    if (blocked(now) || !bucket_.try_take(now)) {
      break;
    }

    auto ticket = next_ticket_++;
    index_.erase(req.person);
    in_flight_by_person_.emplace(req.person, ticket);
    out.dispatches.push_back({ticket, req});
    in_flight_.emplace(ticket, std::move(req));
    it = waiting_.erase(it);
  }
}

void write_queue::on_result(uint64_t ticket, const write_outcome& outcome,
                            mono_time now, queue_effects& out) {
  auto found = in_flight_.find(ticket);
  if (found == in_flight_.end()) {
    return;
  }
  auto req = std::move(found->second);
  in_flight_.erase(found);
  in_flight_by_person_.erase(req.person);
  const bool withdrawn = withdrawn_in_flight_.erase(ticket) > 0;

  // A 429 or 5xx holds back every write of this side until Retry-After,
  // then the newest value per person goes again. A write withdrawn while
  // it was on its way is not sent again: it ends as if it had still
  // waited in the queue.
  if (outcome.result == write_outcome::kind::throttled) {
    auto wait = outcome.retry_after.count() > 0 ? outcome.retry_after
                                                : settings_.default_retry_after;
    auto until = now + wait;
    blocked_until_ = blocked_until_ ? std::max(*blocked_until_, until) : until;
    if (withdrawn) {
      out.results.push_back({std::move(req), write_outcome::cancelled()});
      pump(now, out);
      return;
    }
    if (!index_.contains(req.person)) {
      auto name = req.person;
      waiting_.push_front(req);
      index_.emplace(std::move(name), waiting_.begin());
      if (req.kind == write_kind::write) {
        out.waiting.push_back(req);
      }
    }
  }
  // The same value queued again behind an attempt that landed (withdrawn
  // and wanted again while on its way) would repeat what the side shows.
  std::optional<write_request> repeat;
  if (outcome.result == write_outcome::kind::ok &&
      req.kind == write_kind::write) {
    auto queued = index_.find(req.person);
    if (queued != index_.end() && queued->second->kind == write_kind::write &&
        queued->second->same_value(req)) {
      repeat = std::move(*queued->second);
      waiting_.erase(queued->second);
      index_.erase(queued);
    }
  }
  out.results.push_back({std::move(req), outcome});
  if (repeat) {
    out.results.push_back({std::move(*repeat), write_outcome::cancelled()});
  }
  pump(now, out);
}

std::optional<mono_time> write_queue::next_wakeup(mono_time now) const {
  // A request queued behind its person's attempt in flight goes when that
  // attempt's answer arrives, not at any instant.
  bool sendable =
    std::any_of(waiting_.begin(), waiting_.end(), [this](const auto& r) {
      return !in_flight_by_person_.contains(r.person);
    });
  if (!sendable) {
    return std::nullopt;
  }
  if (blocked(now)) {
    return *blocked_until_;
  }
  return bucket_.next_token(now);
}

void write_queue::on_wakeup(mono_time now, queue_effects& out) {
  if (blocked_until_ && now >= *blocked_until_) {
    blocked_until_.reset();
  }
  pump(now, out);
}

} // namespace presync
