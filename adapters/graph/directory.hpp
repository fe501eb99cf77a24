// The user directory: list and delta requests, their pages, the Teams
// licence rule and the dialable number of each person (spec/graph.md §2,
// §7).
#pragma once

#include "adapters/graph/phone.hpp"
#include "adapters/graph/token.hpp"
#include "protocol/error.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace presync::graph {

/// The Teams service plan TEAMS1 (spec §2.2).
inline constexpr std::string_view teams1_plan_id =
  "57ff2da0-773e-42df-b2af-ffb7a2317929";

/// The properties presync selects on /users and /users/delta.
inline constexpr std::string_view user_select =
  "id,displayName,mail,userPrincipalName,businessPhones,mobilePhone,"
  "accountEnabled,assignedPlans,assignedLicenses";

/// Returns {graph}/v1.0/users?$select=...&$top=`top` (1-999, clamped).
std::string users_url(const endpoints& where, int top = 999);

/// Returns {graph}/v1.0/users/delta?$select=... for a first delta round.
std::string users_delta_url(const endpoints& where);

/// One entry of assignedPlans.
struct assigned_plan {
  std::string service_plan_id;
  std::string capability_status; ///< Enabled, Warning, Suspended, ...
  std::string service;
};

/// A user as Graph returned it; absent properties stay empty/nullopt (a
/// delta page carries only what changed).
struct graph_user {
  std::string id;
  std::optional<std::string> display_name;
  std::optional<std::string> mail;
  std::optional<std::string> user_principal_name;
  std::vector<std::string> business_phones;
  std::optional<std::string> mobile_phone;
  std::optional<bool> account_enabled;
  std::vector<assigned_plan> assigned_plans;
  std::vector<std::string> disabled_plans; ///< from every assignedLicense
  bool removed = false;                    ///< delta: carried "@removed"
  std::string removed_reason;              ///< "changed" (soft) or "deleted"
};

/// One page of /users or /users/delta.
struct users_page {
  std::vector<graph_user> users;
  std::optional<std::string> next_link;  ///< @odata.nextLink, verbatim
  std::optional<std::string> delta_link; ///< @odata.deltaLink, verbatim
};

/// Parses a users or delta page. `value` and each user's `id` are
/// required; unknown fields are ignored; a wrong type is malformed naming
/// the field, e.g. "users page: value[1].accountEnabled: expected true or
/// false".
[[nodiscard]] expected<users_page> parse_users_page(std::string_view json);

/// Which service plans count as Teams (spec §2.2).
struct licence_rule {
  std::vector<std::string> plan_ids = {std::string{teams1_plan_id}};
  bool accept_teamspace_service = false; ///< also service == TeamspaceAPI
};

/// Returns true if the user is enabled and holds a Teams plan in state
/// Enabled or Warning that no assignedLicense lists in disabledPlans.
bool is_teams_licensed(const graph_user& user, const licence_rule& rule = {});

/// Where a dialable number came from.
enum class phone_source : uint8_t { none, teams, business, mobile };

std::string_view to_string(phone_source s);

/// How numbers are chosen and read.
struct phone_rule {
  std::string default_region = "US"; ///< for numbers without +
  bool allow_mobile = true;          ///< fall back to mobilePhone
};

/// The winning number, or why none is dialable.
struct phone_choice {
  std::optional<e164_number> number;
  phone_source source = phone_source::none;
  std::string not_dialable_reason; ///< set when number is nullopt
};

/// Picks the first number that normalises, in order: the Teams primary
/// number (`teams_number`, already E.164 from Graph), businessPhones[0],
/// mobilePhone (spec §7.2). The reason lists every source tried.
phone_choice choose_phone(const graph_user& user,
                          std::optional<std::string_view> teams_number,
                          const phone_rule& rule = {});

/// Returns {graph}/v1.0/admin/teams/userConfigurations/{id}.
std::string teams_user_configuration_url(const endpoints& where,
                                         std::string_view user_id);

/// Parses a Teams user configuration (spec §7.2; the object itself or
/// wrapped in "value") and returns its `primary` telephoneNumber, nullopt
/// when it has none. malformed naming the field on a wrong type.
[[nodiscard]] expected<std::optional<std::string>>
parse_teams_primary_number(std::string_view json);

/// Returns {graph}/v1.0/admin/teams/userConfigurations, the list of every
/// user's Teams configuration (spec §7.2), paged by @odata.nextLink.
std::string teams_user_configurations_url(const endpoints& where);

/// One user's Teams configuration, as far as presync reads it.
struct teams_configuration {
  std::string user_id;                       ///< `id`, the Entra object id
  std::optional<std::string> primary_number; ///< the `primary` number
};

/// One page of /admin/teams/userConfigurations.
struct teams_configurations_page {
  std::vector<teams_configuration> users;
  std::optional<std::string> next_link; ///< @odata.nextLink, verbatim
};

/// Parses a page of the list. `value` is expected to be an array; a
/// single object is tolerated (Microsoft's list examples show one, spec
/// §7.2). Each entry needs an `id`; malformed names the field otherwise.
[[nodiscard]] expected<teams_configurations_page>
parse_teams_configurations_page(std::string_view json);

/// A person as the directory keeps it.
struct directory_entry {
  std::string id;
  std::string display_name;
  std::string mail;
  std::string user_principal_name;
  std::optional<std::string> phone_e164;
  std::string phone_extension;
  phone_source phone_from = phone_source::none;
  std::string not_dialable_reason;
  bool licensed = false;
};

/// Builds the directory entry of `user`.
directory_entry make_directory_entry(
  const graph_user& user, std::optional<std::string_view> teams_number = {},
  const licence_rule& licence = {}, const phone_rule& phone = {});

} // namespace presync::graph
