#include "fuzz/targets.hpp"

#include "adapters/graph/directory.hpp"

namespace presync::fuzz {

void graph_directory(std::string_view data) {
  // Every user of a page becomes a directory entry, as the loader does:
  // the licence check and the phone choice read what the page held.
  auto page = graph::parse_users_page(data);
  if (page) {
    for (const auto& user : page->users) {
      (void)graph::make_directory_entry(user);
      (void)graph::make_directory_entry(user, user.mobile_phone);
    }
  }

  (void)graph::parse_teams_primary_number(data);
  (void)graph::parse_teams_configurations_page(data);
}

} // namespace presync::fuzz
