#include "adapters/graph/token_provider.hpp"

#include <chrono>
#include <utility>

namespace presync::graph {

mono_time steady_now() {
  return mono_time{std::chrono::floor<duration>(
    std::chrono::steady_clock::now().time_since_epoch())};
}

token_provider::token_provider(std::shared_ptr<http::client> http,
                               client_credentials credentials, endpoints where,
                               clock_fn clock, duration margin)
  : http_(std::move(http)), credentials_(std::move(credentials)),
    where_(std::move(where)), clock_(std::move(clock)), cache_(margin) {}

std::shared_ptr<token_provider>
token_provider::make(std::shared_ptr<http::client> http,
                     client_credentials credentials, endpoints where,
                     clock_fn clock, duration margin) {
  return std::shared_ptr<token_provider>(
    new token_provider(std::move(http), std::move(credentials),
                       std::move(where), std::move(clock), margin));
}

void token_provider::get(callback done) {
  std::optional<secret> ready;
  std::optional<error> failed;
  std::vector<callback> to_fail;
  {
    std::lock_guard lock{mutex_};
    auto now = clock_();
    if (const auto* held = cache_.current(now)) {
      ready = *held;
    } else {
      waiting_.push_back(std::move(done));
    }
    if (cache_.needs_refresh(now) && cache_.begin_refresh(now)) {
      failed = start_refresh_locked();
      if (failed) {
        to_fail = std::exchange(waiting_, {});
      }
    }
  }
  // Callbacks run outside the lock, so they may call get() again.
  for (auto& w : to_fail) {
    w(*failed);
  }
  if (ready) {
    done(std::move(*ready));
  }
}

void token_provider::invalidate() {
  std::lock_guard lock{mutex_};
  cache_.invalidate();
}

std::optional<error> token_provider::last_error() const {
  std::lock_guard lock{mutex_};
  return last_error_;
}

uint64_t token_provider::requests_sent() const {
  std::lock_guard lock{mutex_};
  return requests_sent_;
}

std::optional<mono_time> token_provider::token_expires_at() const {
  std::lock_guard lock{mutex_};
  return cache_.expires_at();
}

std::optional<error> token_provider::start_refresh_locked() {
  auto request = build_token_request(credentials_, where_);
  if (!request) {
    last_error_ = request.err();
    cache_.refresh_failed();
    return request.err();
  }
  ++requests_sent_;
  std::weak_ptr<token_provider> weak = shared_from_this();
  http_->async_send(std::move(*request), {},
                    [weak](expected<http::http_response> answer) {
                      if (auto self = weak.lock()) {
                        self->on_answer(std::move(answer));
                      }
                    });
  return std::nullopt;
}

void token_provider::on_answer(expected<http::http_response> answer) {
  std::optional<error> failure;
  std::optional<secret> token;
  if (!answer) {
    failure = answer.err();
    failure->context = "token request: " + failure->context;
  } else if (answer->status != 200) {
    failure = parse_token_error(answer->status, answer->headers, answer->body);
  } else if (auto parsed = parse_token_response(answer->body)) {
    token = parsed->access_token;
    std::lock_guard lock{mutex_};
    cache_.store(std::move(*parsed), clock_());
  } else {
    failure = parsed.err();
  }
  std::vector<callback> waiting;
  {
    std::lock_guard lock{mutex_};
    if (failure) {
      cache_.refresh_failed();
      last_error_ = failure;
    } else {
      last_error_.reset();
    }
    waiting = std::exchange(waiting_, {});
  }
  for (auto& w : waiting) {
    if (token) {
      w(*token);
    } else {
      w(*failure);
    }
  }
}

} // namespace presync::graph
