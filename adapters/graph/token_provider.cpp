#include "adapters/graph/token_provider.hpp"

#include <chrono>
#include <utility>

namespace presync::graph {

namespace {

const log::logger& token_log() {
  static const log::logger logger{"graph.token"};
  return logger;
}

/// Returns true for token failures only a person can mend.
bool needs_a_person(sync_error code) {
  return code == sync_error::secret_expired ||
         code == sync_error::unauthorized ||
         code == sync_error::not_consented ||
         code == sync_error::tenant_not_found ||
         code == sync_error::config_invalid;
}

} // namespace

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
    const bool backing_off = retry_at_ && now < *retry_at_ && last_error_;
    if (const auto* held = cache_.current(now)) {
      ready = *held;
    } else if (backing_off) {
      // The last request failed moments ago: answer with its failure.
      failed = last_error_;
      to_fail.push_back(std::move(done));
    } else {
      waiting_.push_back(std::move(done));
    }
    if (!backing_off && cache_.needs_refresh(now) &&
        cache_.begin_refresh(now)) {
      failed = start_refresh_locked();
      if (failed) {
        auto waiting = std::exchange(waiting_, {});
        to_fail.insert(to_fail.end(), std::make_move_iterator(waiting.begin()),
                       std::make_move_iterator(waiting.end()));
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

std::optional<mono_time> token_provider::retry_at() const {
  std::lock_guard lock{mutex_};
  return retry_at_;
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
  uint32_t failures = 0;
  duration delay{0};
  {
    std::lock_guard lock{mutex_};
    failures = failure ? ++failures_ : std::exchange(failures_, 0);
    if (failure) {
      cache_.refresh_failed();
      last_error_ = failure;
      delay = failure->retry_after > duration{0}
                ? failure->retry_after
                : backoff_delay(backoff_, failures, 0.5);
      retry_at_ = clock_() + delay;
    } else {
      last_error_.reset();
      retry_at_.reset();
    }
    waiting = std::exchange(waiting_, {});
  }
  log_outcome(failure, failures, delay);
  for (auto& w : waiting) {
    if (token) {
      w(*token);
    } else {
      w(*failure);
    }
  }
}

} // namespace presync::graph

namespace presync::graph {

void token_provider::log_outcome(const std::optional<error>& failure,
                                 uint32_t failures, duration delay) {
  if (!failure) {
    if (failures > 0) {
      token_log().info("token_recovered",
                       {log::kv("entra_tenant", credentials_.tenant),
                        log::kv("failures", static_cast<uint64_t>(failures))});
    }
    return;
  }
  uint64_t lines = 0;
  {
    std::lock_guard lock{mutex_};
    if (!log_limit_) {
      log_limit_.emplace(std::chrono::minutes{1});
    }
    // The first failure of a streak always gets its line.
    lines = failures == 1 ? 1
                          : log_limit_->allow("token_unavailable",
                                              std::chrono::steady_clock::now());
  }
  if (lines == 0) {
    return;
  }
  token_log().write(
    needs_a_person(failure->code) ? log::level::error : log::level::warning,
    "token_unavailable",
    {log::kv("entra_tenant", credentials_.tenant),
     log::kv("error", failure->describe()),
     log::kv("failures", static_cast<uint64_t>(failures)),
     log::kv("next_try_in", delay), log::kv("held_back", lines - 1)});
}

} // namespace presync::graph
