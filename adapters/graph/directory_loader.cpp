#include "adapters/graph/directory_loader.hpp"

#include "adapters/graph/errors.hpp"
#include "adapters/log/log.hpp"

#include <algorithm>
#include <cctype>
#include <future>
#include <thread>
#include <unordered_set>
#include <utility>

namespace presync::graph {

namespace {

const log::logger& directory_log() {
  static const log::logger logger{"graph.directory"};
  return logger;
}

/// Waits for a token from the provider.
expected<secret> wait_token(token_provider& tokens) {
  std::promise<expected<secret>> done;
  auto got = done.get_future();
  tokens.get([&done](expected<secret> t) { done.set_value(std::move(t)); });
  return got.get();
}

std::string lower(std::string_view s) {
  std::string out{s};
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
    return static_cast<char>(std::tolower(c));
  });
  return out;
}

/// Returns the Teams number of `id` in `numbers`, if it has one.
std::optional<std::string_view>
number_of(const std::unordered_map<std::string, std::string>& numbers,
          const std::string& id) {
  auto found = numbers.find(id);
  if (found == numbers.end()) {
    return std::nullopt;
  }
  return std::string_view{found->second};
}

} // namespace

std::string_view to_string(teams_numbers_state s) {
  switch (s) {
  case teams_numbers_state::read:
    return "read";
  case teams_numbers_state::denied:
    return "denied";
  case teams_numbers_state::failed:
    return "failed";
  }
  return "failed";
}

directory_loader::directory_loader(std::shared_ptr<http::client> http,
                                   std::shared_ptr<token_provider> tokens,
                                   endpoints where, licence_rule licence,
                                   phone_rule phone)
  : http_(std::move(http)), tokens_(std::move(tokens)),
    where_(std::move(where)), licence_(licence), phone_(std::move(phone)) {}

void directory_loader::set_rate_limit(double requests_per_second) {
  if (requests_per_second <= 0) {
    bucket_.reset();
    return;
  }
  bucket_.emplace(std::max(1.0, requests_per_second), requests_per_second);
}

expected<http::http_response> directory_loader::get(const std::string& url) {
  // The loader runs on a thread that may wait: pace it, never fail it.
  if (bucket_) {
    for (;;) {
      auto now = steady_now();
      if (bucket_->try_take(now)) {
        break;
      }
      std::this_thread::sleep_for(bucket_->next_token(now) - now);
    }
  }
  ++requests_sent_;
  auto token = wait_token(*tokens_);
  if (!token) {
    return token.err();
  }
  http::http_request request;
  request.url = url;
  request.headers.set("Authorization", "Bearer " + token->reveal());
  auto answer = http_->send(std::move(request));
  if (answer && answer->status == 401) {
    tokens_->invalidate();
  }
  return answer;
}

expected<std::unordered_map<std::string, std::string>>
directory_loader::read_teams_numbers(size_t& pages) {
  std::unordered_map<std::string, std::string> numbers;
  std::string url = teams_user_configurations_url(where_);
  while (true) {
    auto answer = get(url);
    if (!answer) {
      return answer.err();
    }
    if (answer->status != 200) {
      return from_graph_response(*answer, "teams user configurations page " +
                                            std::to_string(pages + 1));
    }
    auto page = parse_teams_configurations_page(answer->body);
    if (!page) {
      return page.err();
    }
    ++pages;
    for (auto& user : page->users) {
      if (user.primary_number) {
        numbers[lower(user.user_id)] = std::move(*user.primary_number);
      }
    }
    if (!page->next_link) {
      return numbers;
    }
    url = *page->next_link;
  }
}

expected<directory_round> directory_loader::load() {
  directory_round round;
  round.full = !delta_link_;

  // Teams numbers first, so every entry of this round can use them. A
  // failure falls back rather than failing the directory.
  // TODO: the primary number is used whatever its activation state, which
  // only the number inventory (numberAssignments, permission
  // TeamsTelephoneNumber.Read.All) carries; reading it too would skip
  // numbers still pending activation (spec §7.2).
  std::unordered_map<std::string, std::string> numbers;
  auto teams = read_teams_numbers(round.teams_pages);
  if (teams) {
    numbers = std::move(*teams);
    if (denied_logged_) {
      directory_log().info("teams_numbers_allowed_again",
                           {log::kv("graph", where_.graph)});
      denied_logged_ = false;
    }
  } else if (teams.err().code == sync_error::forbidden) {
    round.teams_numbers = teams_numbers_state::denied;
    round.teams_numbers_error = teams.err().describe();
    if (!denied_logged_) {
      directory_log().warning(
        "teams_numbers_denied",
        {log::kv("graph", where_.graph),
         log::kv("permission", "TeamsUserConfiguration.Read.All"),
         log::kv("fallback", "businessPhones, mobilePhone"),
         log::kv("error", round.teams_numbers_error)});
      denied_logged_ = true;
    }
  } else {
    round.teams_numbers = teams_numbers_state::failed;
    round.teams_numbers_error = teams.err().describe();
    numbers = teams_numbers_;
    directory_log().warning(
      "teams_numbers_failed",
      {log::kv("graph", where_.graph),
       log::kv("kept_numbers", static_cast<uint64_t>(numbers.size())),
       log::kv("error", round.teams_numbers_error)});
  }
  round.teams_numbers_found = numbers.size();

  // The users, on a copy of what the last round knew: a round that fails
  // half-way changes nothing and is read again from the same link.
  auto users = round.full ? decltype(users_){} : users_;
  std::unordered_set<std::string> in_round;
  std::string url = delta_link_ ? *delta_link_ : users_delta_url(where_);
  std::optional<std::string> next_delta_link;
  while (true) {
    auto answer = get(url);
    if (!answer) {
      return answer.err();
    }
    if (answer->status != 200) {
      auto e = from_graph_response(*answer, "users delta page " +
                                              std::to_string(round.pages + 1));
      if (answer->status == 410 ||
          e.context.find("syncStateNotFound") != std::string::npos) {
        delta_link_.reset();
      }
      return e;
    }
    auto page = parse_users_page(answer->body);
    if (!page) {
      return page.err();
    }
    ++round.pages;
    for (auto& user : page->users) {
      auto id = lower(user.id);
      if (user.removed) {
        round.removed.push_back(user.id);
        users.erase(id);
        continue;
      }
      auto entry =
        make_directory_entry(user, number_of(numbers, id), licence_, phone_);
      if (!entry.licensed) {
        round.removed.push_back(user.id);
        users.erase(id);
        continue;
      }
      in_round.insert(id);
      round.licensed.push_back(std::move(entry));
      users[id] = std::move(user);
    }
    if (page->next_link) {
      url = *page->next_link;
      continue;
    }
    next_delta_link = page->delta_link;
    break;
  }

  // Users the delta did not show whose Teams number changed.
  if (!round.full) {
    for (const auto& [id, user] : users) {
      if (in_round.contains(id)) {
        continue;
      }
      auto before = number_of(teams_numbers_, id);
      auto now = number_of(numbers, id);
      if (before != now) {
        round.licensed.push_back(
          make_directory_entry(user, now, licence_, phone_));
      }
    }
  }

  users_ = std::move(users);
  teams_numbers_ = std::move(numbers);
  if (next_delta_link) {
    delta_link_ = std::move(next_delta_link);
  }
  return round;
}

} // namespace presync::graph
