// Who is one person: pairing Teams users with Connect users (DESIGN.md §5,
// "Directory"). Plain values in, persons and conflicts out; no I/O.
//
// An explicit mapping wins over everything. Then each key of the match
// order pairs what is still unpaired: a value shared by exactly one Teams
// user and exactly one Connect user pairs them. A value claimed by more
// than one account on either side is a conflict: none of those accounts is
// paired by any later key, so nobody is synced with an arbitrary winner.
// Every account ends up in exactly one person, except Connect users in a
// conflict, who are left out of sync altogether (a Teams user in a conflict
// is still listed, Teams-only).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace presync {

/// A licensed Teams user as the directory knows it.
struct teams_account {
  std::string graph_id;
  std::string upn;
  std::string mail;
  std::string display_name;
};

/// A Connect user as ListUsers / DescribeUser know it.
struct connect_account {
  std::string user_id;
  std::string username;
  std::string email; ///< empty until DescribeUser was read
  std::string display_name;
};

/// Which identifiers are compared, in the configured order.
enum class identity_key : uint8_t {
  upn,      ///< Teams UPN = Connect username
  mail,     ///< Teams mail = Connect e-mail
  username, ///< local part of the Teams UPN = Connect username's local part
};

std::string_view to_string(identity_key k);

/// One explicit pair from the mapping file: a Teams user (Graph id or UPN)
/// and a Connect user (user id or username).
struct identity_pair {
  std::string teams;
  std::string connect;
  size_t line = 0; ///< where it came from, for messages
};

/// A person: at least one side. Indices point into the inputs.
struct matched_person {
  std::string id; ///< the Graph id when there is a Teams side, else the
                  ///< Connect user id
  std::optional<size_t> teams;
  std::optional<size_t> connect;
  std::string matched_by; ///< "mapping", "upn", "mail", "username" or ""
};

/// Accounts that claim one identity.
struct identity_conflict {
  std::string key;   ///< "mapping", "upn", "mail" or "username"
  std::string value; ///< the normalised value they share
  std::vector<std::string> teams_ids;
  std::vector<std::string> connect_ids;
};

/// What matching found.
struct identity_result {
  std::vector<matched_person> people;
  std::vector<identity_conflict> conflicts;
  std::vector<std::string> problems; ///< mapping lines that match nobody
};

/// Returns `text` trimmed and lower-cased (ASCII), the form compared.
std::string normalise_identity(std::string_view text);

/// Pairs `teams` with `connect` (DESIGN.md §5). The result lists every
/// Teams account once and every Connect account at most once.
identity_result match_identities(const std::vector<teams_account>& teams,
                                 const std::vector<connect_account>& connect,
                                 const std::vector<identity_pair>& mapping,
                                 const std::vector<identity_key>& order);

} // namespace presync
