#include "adapters/graph/presence_reader.hpp"

#include "adapters/graph/errors.hpp"

#include <algorithm>
#include <future>
#include <span>
#include <thread>

namespace presync::graph {

namespace {

expected<secret> wait_for_token(token_provider& tokens) {
  std::promise<expected<secret>> done;
  auto got = done.get_future();
  tokens.get([&done](expected<secret> t) { done.set_value(std::move(t)); });
  return got.get();
}

/// Waits until the budget gives one unit.
void take_budget(presence_budget& budget) {
  for (;;) {
    auto now = steady_now();
    if (budget.take(1, now) == 1) {
      return;
    }
    std::this_thread::sleep_for(budget.next_available(now) - now +
                                std::chrono::milliseconds{1});
  }
}

expected<std::vector<presence_reading>>
read_chunk(http::client& http, token_provider& tokens, presence_budget& budget,
           const endpoints& where, std::span<const std::string> ids,
           const http::request_options& options) {
  constexpr int tries = 3;
  error last;
  for (int attempt = 1; attempt <= tries; ++attempt) {
    auto token = wait_for_token(tokens);
    if (!token) {
      return token.err();
    }
    auto request = build_presence_request(where, ids);
    if (!request) {
      return request.err();
    }
    request->headers.set("Authorization", "Bearer " + token->reveal());
    take_budget(budget);

    auto answer = http.send(std::move(*request), options);
    if (!answer) {
      return answer.err();
    }
    if (answer->status == 200) {
      return parse_presence_response(answer->body);
    }
    last = from_graph_response(*answer, "getPresencesByUserId");
    if (answer->status == 401) {
      tokens.invalidate();
      continue;
    }
    if (last.code != sync_error::throttled &&
        last.code != sync_error::unavailable) {
      return last;
    }
    auto wait = last.retry_after > duration{0} ? last.retry_after
                                               : std::chrono::seconds{5};
    budget.hold_until(steady_now() + wait);
  }
  return last;
}

} // namespace

expected<std::vector<presence_reading>>
read_presences(http::client& http, token_provider& tokens,
               presence_budget& budget, const endpoints& where,
               const std::vector<std::string>& ids,
               http::request_options options) {
  std::vector<presence_reading> out;
  out.reserve(ids.size());
  std::span<const std::string> all{ids};
  for (size_t first = 0; first < all.size(); first += max_presence_ids) {
    auto count = std::min(max_presence_ids, all.size() - first);
    auto chunk = read_chunk(http, tokens, budget, where,
                            all.subspan(first, count), options);
    if (!chunk) {
      return chunk.err();
    }
    std::move(chunk->begin(), chunk->end(), std::back_inserter(out));
  }
  return out;
}

} // namespace presync::graph
