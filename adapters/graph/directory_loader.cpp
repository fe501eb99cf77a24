#include "adapters/graph/directory_loader.hpp"

#include "adapters/graph/errors.hpp"

#include <future>
#include <utility>

namespace presync::graph {

directory_loader::directory_loader(std::shared_ptr<http::client> http,
                                   std::shared_ptr<token_provider> tokens,
                                   endpoints where, licence_rule licence,
                                   phone_rule phone)
  : http_(std::move(http)), tokens_(std::move(tokens)),
    where_(std::move(where)), licence_(licence), phone_(std::move(phone)) {}

namespace {

/// Waits for a token from the provider.
expected<secret> wait_token(token_provider& tokens) {
  std::promise<expected<secret>> done;
  auto got = done.get_future();
  tokens.get([&done](expected<secret> t) { done.set_value(std::move(t)); });
  return got.get();
}

} // namespace

expected<directory_round> directory_loader::load() {
  directory_round round;
  round.full = !delta_link_;
  std::string url = delta_link_ ? *delta_link_ : users_delta_url(where_);
  while (true) {
    auto token = wait_token(*tokens_);
    if (!token) {
      return token.err();
    }
    http::http_request request;
    request.url = url;
    request.headers.set("Authorization", "Bearer " + token->reveal());
    auto answer = http_->send(std::move(request));
    if (!answer) {
      return answer.err();
    }
    if (answer->status == 401) {
      tokens_->invalidate();
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
    for (const auto& user : page->users) {
      // TODO: Teams primary numbers (/admin/teams/userConfigurations) are
      // not read; the emulator answers 501 there. A per-user lookup with
      // parse_teams_primary_number would fill teams_number.
      if (user.removed) {
        round.removed.push_back(user.id);
        continue;
      }
      auto entry = make_directory_entry(user, std::nullopt, licence_, phone_);
      if (entry.licensed) {
        round.licensed.push_back(std::move(entry));
      } else {
        round.removed.push_back(user.id);
      }
    }
    if (page->next_link) {
      url = *page->next_link;
      continue;
    }
    if (page->delta_link) {
      delta_link_ = *page->delta_link;
    }
    return round;
  }
}

} // namespace presync::graph
