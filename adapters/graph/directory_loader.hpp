// Loads one tenant's directory (spec/graph.md §2): a full round through
// /users/delta with paging, the licence filter applied, and the delta link
// kept so the next round (every directory_interval) reads only changes.
#pragma once

#include "adapters/graph/directory.hpp"
#include "adapters/graph/token_provider.hpp"
#include "adapters/http/client.hpp"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace presync::graph {

/// What one round of the directory found.
struct directory_round {
  std::vector<directory_entry> licensed; ///< users that may be synced
  std::vector<std::string> removed;      ///< ids gone or no longer licensed
  size_t pages = 0;
  bool full = false; ///< a full round (no delta link was held)
};

/// A plain class: call load() from any thread but the HTTP client's own.
/// Teams numbers from /admin/teams are not read (see the TODO in load).
/// TODO: nothing runs load() every directory_interval yet; the tenant
/// runtime of `presync run` should own that timer.
class directory_loader {
 public:
  directory_loader(std::shared_ptr<http::client> http,
                   std::shared_ptr<token_provider> tokens, endpoints where,
                   licence_rule licence = {}, phone_rule phone = {});

  /// Runs one round: a full one first, then rounds from the delta link.
  /// A 410 or syncStateNotFound drops the delta link; the next round is
  /// full again.
  [[nodiscard]] expected<directory_round> load();

  /// Returns true while a delta link from an earlier round is held.
  bool has_delta_link() const { return delta_link_.has_value(); }

 private:
  std::shared_ptr<http::client> http_;
  std::shared_ptr<token_provider> tokens_;
  endpoints where_;
  licence_rule licence_;
  phone_rule phone_;
  std::optional<std::string> delta_link_;
};

} // namespace presync::graph
