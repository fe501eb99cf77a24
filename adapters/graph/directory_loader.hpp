// Loads one tenant's directory (spec/graph.md §2): a full round through
// /users/delta with paging, the licence filter applied, and the delta link
// kept so the next round (every directory_interval) reads only changes.
//
// Every round also reads the Teams phone numbers of all users with one
// paged list call, /admin/teams/userConfigurations (spec §7.2), before the
// users: the primary Teams number wins over businessPhones and mobilePhone
// (choose_phone). A Teams number is not a property of the Entra user, so
// a delta round cannot see it change; the loader keeps the licensed users
// it has seen and reports in `licensed` also those whose Teams number
// changed since the last round.
#pragma once

#include "adapters/graph/directory.hpp"
#include "adapters/graph/token_provider.hpp"
#include "adapters/http/client.hpp"
#include "protocol/write_queue.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace presync::graph {

/// How the Teams numbers of a round were read.
enum class teams_numbers_state : uint8_t {
  read,   ///< the list was read: Teams numbers are current
  denied, ///< 403: TeamsUserConfiguration.Read.All is not consented;
          ///< every number comes from businessPhones or mobilePhone
  failed, ///< another failure (5xx, timeout...): the numbers of the last
          ///< good round are kept, or none after a first round
};

std::string_view to_string(teams_numbers_state s);

/// What one round of the directory found.
struct directory_round {
  std::vector<directory_entry> licensed; ///< users that may be synced
  std::vector<std::string> removed;      ///< ids gone or no longer licensed
  size_t pages = 0;
  bool full = false; ///< a full round (no delta link was held)

  /// Teams phone numbers (spec §7.2): how they were read, why not (never
  /// a number), how many list pages it took and how many users have a
  /// primary Teams number.
  teams_numbers_state teams_numbers = teams_numbers_state::read;
  std::string teams_numbers_error;
  size_t teams_pages = 0;
  size_t teams_numbers_found = 0;
};

/// A plain class: call load() from any thread but the HTTP client's own
/// (the tenant runtime calls it every directory_interval).
class directory_loader {
 public:
  directory_loader(std::shared_ptr<http::client> http,
                   std::shared_ptr<token_provider> tokens, endpoints where,
                   licence_rule licence = {}, phone_rule phone = {});

  /// Runs one round: a full one first, then rounds from the delta link.
  /// A 410 or syncStateNotFound drops the delta link; the next round is
  /// full again. A failure of the Teams numbers never fails the round: a
  /// 403 is logged once (warning `teams_numbers_denied`, again only after
  /// the permission came back and went again), other failures each round
  /// (warning `teams_numbers_failed`); `teams_numbers` says which.
  [[nodiscard]] expected<directory_round> load();

  /// Returns true while a delta link from an earlier round is held.
  bool has_delta_link() const { return delta_link_.has_value(); }

  /// Paces every request of the loader (users, delta, Teams numbers) to
  /// `requests_per_second`, the tenant's directory budget (spec/graph.md
  /// §6); a round waits for it rather than being throttled. 0: no limit.
  void set_rate_limit(double requests_per_second);

  /// Returns how many requests the loader has sent.
  uint64_t requests_sent() const { return requests_sent_; }

 private:
  /// Reads every page of the Teams configurations into a map from the
  /// lower-case user id to its primary number.
  expected<std::unordered_map<std::string, std::string>>
  read_teams_numbers(size_t& pages);

  /// Sends one GET with the current token; 401 invalidates the token.
  expected<http::http_response> get(const std::string& url);

  std::shared_ptr<http::client> http_;
  std::shared_ptr<token_provider> tokens_;
  endpoints where_;
  licence_rule licence_;
  phone_rule phone_;
  std::optional<std::string> delta_link_;
  std::optional<token_bucket> bucket_; ///< the directory budget, if any
  uint64_t requests_sent_ = 0;

  // The state a delta round builds on, replaced only by a whole round.
  std::unordered_map<std::string, graph_user> users_; ///< licensed, by id
  std::unordered_map<std::string, std::string> teams_numbers_;
  bool denied_logged_ = false;
};

} // namespace presync::graph
