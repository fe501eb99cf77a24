// The directory as the API serves it (DESIGN.md §5): every person once,
// Teams-only, Connect-only or both, with name, e-mail, the number to dial
// (E.164) or why there is none, and the table of direct numbers that the
// routing lookup answers from. A snapshot is immutable: the tenant builds a
// new one after each directory round and swaps it in, readers keep the
// one they hold.
#pragma once

#include "adapters/connect/connect_api.hpp"
#include "adapters/graph/directory.hpp"
#include "app/presence_board.hpp"
#include "config/did_mapping.hpp"
#include "protocol/identity.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace presync::app {

/// One person of the directory.
struct directory_person {
  std::string id; ///< the person id (Graph id, or Connect user id)
  std::string display_name;
  std::string email;

  // Teams side (graph_id empty: none).
  std::string graph_id;
  std::string upn;

  // Connect side (agent_id empty: none).
  std::string agent_id;
  std::string agent_arn;
  std::string username;

  // Dialing: the number Connect calls, or why there is none.
  std::string number;        ///< E.164; empty: not dialable
  std::string extension;     ///< kept apart; Connect dials the main number
  std::string number_source; ///< teams, business, mobile, connect_desk,
                             ///< connect_mobile
  std::string not_dialable_reason;

  std::string sort_key; ///< lower-case name, \x1f, id: the paging order
  std::string haystack; ///< lower-case name, e-mail, UPN, username, digits

  bool has_teams() const { return !graph_id.empty(); }
  bool has_connect() const { return !agent_id.empty(); }
  bool dialable() const { return !number.empty(); }
};

/// A direct number (and extension) that belongs to an agent.
struct route_entry {
  std::string number;
  std::string extension;
  std::string person;
  std::string agent_id;
  std::string agent_arn;
  std::string username;
  std::string source; ///< "connect" (desk phone) or "mapping" (the file)
};

/// The answer of a routing lookup.
struct route_answer {
  const route_entry* entry = nullptr; ///< null: not found, see reason
  std::string reason;
};

/// A Connect user as the directory knows it: ListUsers always, DescribeUser
/// once it was read.
struct connect_user_info {
  connect::user_summary summary;
  std::optional<connect::user_details> details;
};

/// Everything a snapshot is built from.
struct directory_inputs {
  std::map<std::string, graph::directory_entry> teams_entries; ///< Graph id
  std::vector<teams_account> teams;
  std::vector<connect_account> agents;
  identity_result people;
  std::map<std::string, connect_user_info> connect_users; ///< by user id
  std::vector<config::did_mapping_entry> did_mapping;
  std::string default_region = "US"; ///< for Connect numbers without +
};

/// One immutable directory.
class directory_snapshot {
 public:
  directory_snapshot(std::vector<directory_person> people,
                     std::vector<route_entry> routes,
                     std::vector<std::string> problems, uint64_t version);

  /// Returns every person in paging order.
  const std::vector<directory_person>& people() const { return people_; }

  /// Returns the person with `id`, or null.
  const directory_person* find(std::string_view id) const;

  /// Returns the person whose Connect side is user id or username `agent`.
  const directory_person* find_agent(std::string_view agent) const;

  /// Looks up a normalised number and extension: the exact pair first,
  /// then the number alone.
  route_answer route(const std::string& number,
                     const std::string& extension) const;

  /// Returns how many direct numbers the table holds.
  size_t route_count() const { return routes_.size(); }

  /// Returns the route table by (number, extension).
  const std::map<std::pair<std::string, std::string>, route_entry>&
  routes() const {
    return routes_;
  }

  /// Returns what building found wrong (mapping lines naming nobody,
  /// numbers claimed twice); never a phone number in full.
  const std::vector<std::string>& problems() const { return problems_; }

  uint64_t version() const { return version_; }

 private:
  std::vector<directory_person> people_;
  std::unordered_map<std::string, size_t> by_id_;
  std::unordered_map<std::string, size_t> by_agent_; ///< id and username
  std::map<std::pair<std::string, std::string>, route_entry> routes_;
  std::vector<std::string> problems_;
  uint64_t version_;
};

/// Builds a snapshot: one person per matched person, the Teams number
/// first (graph::choose_phone), then the Connect desk phone, then the
/// Connect mobile; the route table from desk phones plus `did_mapping`,
/// which wins. A number two agents claim routes to nobody.
std::shared_ptr<const directory_snapshot>
build_directory_snapshot(const directory_inputs& in, uint64_t version);

/// Returns `text` lower-cased (ASCII).
std::string lower_ascii(std::string_view text);

// -- queries
// -------------------------------------------------------------------

/// A page request, already validated.
struct directory_query {
  std::string q;                           ///< lower-case; empty: everyone
  std::vector<presence_category> presence; ///< empty: any
  size_t limit = 100;
  std::string after; ///< sort key of the last item seen; empty: start
};

/// One page.
struct directory_page {
  std::vector<const directory_person*> items;
  std::vector<live_state> live;          ///< beside items
  size_t total = 0;                      ///< matches on every page
  std::optional<std::string> next_after; ///< set when more follow
};

/// Answers `query` from `snap` and the live states on `board`.
directory_page query_directory(const directory_snapshot& snap,
                               const presence_board& board,
                               const directory_query& query);

/// Returns the opaque cursor text for a sort key, and back (nullopt when
/// the text is not a cursor this server made).
std::string encode_cursor(std::string_view sort_key);
std::optional<std::string> decode_cursor(std::string_view cursor);

/// Appends one person with its live state as a JSON object.
void append_person_json(std::string& out, const directory_person& p,
                        const live_state& live);

} // namespace presync::app
