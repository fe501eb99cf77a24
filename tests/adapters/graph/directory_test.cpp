#include "adapters/graph/directory.hpp"

#include "fixture.hpp"

#include <gtest/gtest.h>

namespace presync::graph {
namespace {

using testing::fixture;

users_page page(const std::string& name) {
  auto p = parse_users_page(fixture(name));
  if (!p) {
    ADD_FAILURE() << p.err().describe();
    return {};
  }
  return std::move(*p);
}

TEST(UsersUrl, SelectsEveryDirectoryField) {
  endpoints where;
  where.graph = "https://127.0.0.1:8443";

  EXPECT_EQ(users_url(where),
            "https://127.0.0.1:8443/v1.0/users?$select=id,displayName,mail,"
            "userPrincipalName,businessPhones,mobilePhone,accountEnabled,"
            "assignedPlans,assignedLicenses&$top=999");
  auto clamped = users_url(where, 5000);
  EXPECT_EQ(clamped.substr(clamped.size() - 9), "&$top=999");
  EXPECT_EQ(users_url(where, 0).substr(clamped.size() - 9), "&$top=1");
  EXPECT_EQ(users_delta_url(where),
            "https://127.0.0.1:8443/v1.0/users/delta?$select=id,displayName,"
            "mail,userPrincipalName,businessPhones,mobilePhone,"
            "accountEnabled,assignedPlans,assignedLicenses");
}

TEST(UsersPage, FirstPageCarriesNextLinkAndThreeUsers) {
  auto p = page("users-page-1.json");

  ASSERT_EQ(p.users.size(), 3u);
  ASSERT_TRUE(p.next_link);
  EXPECT_EQ(*p.next_link,
            "https://graph.microsoft.com/v1.0/users?$select=id,displayName,"
            "mail,userPrincipalName,businessPhones,mobilePhone,"
            "accountEnabled,assignedPlans,assignedLicenses&$top=3&$skiptoken="
            "RFNwdAIAAQAAACpVc2VyXzAwMDAwMDAwLTAwMDAtMDAwMC0wMDAwLTAwMDAwMDAw"
            "MDAwMw");
  EXPECT_FALSE(p.delta_link);
  const auto& one = p.users[0];
  EXPECT_EQ(one.id, "00000000-0000-0000-0000-000000000001");
  EXPECT_EQ(one.display_name, "User One");
  EXPECT_EQ(one.mail, "user.one@contoso.example");
  EXPECT_EQ(one.user_principal_name, "user.one@contoso.example");
  EXPECT_EQ(one.business_phones, std::vector<std::string>{"+1 425 555 0101"});
  EXPECT_EQ(one.mobile_phone, std::nullopt);
  EXPECT_EQ(one.account_enabled, true);
  ASSERT_EQ(one.assigned_plans.size(), 2u);
  EXPECT_EQ(one.assigned_plans[1].service_plan_id, teams1_plan_id);
  EXPECT_EQ(one.assigned_plans[1].capability_status, "Enabled");
  EXPECT_EQ(one.assigned_plans[1].service, "TeamspaceAPI");
  EXPECT_TRUE(one.disabled_plans.empty());
  EXPECT_EQ(p.users[2].mobile_phone, "+1 (253) 555-0103");
}

TEST(UsersPage, LastPageHasNoNextLink) {
  auto p = page("users-page-2.json");

  ASSERT_EQ(p.users.size(), 3u);
  EXPECT_FALSE(p.next_link);
  EXPECT_EQ(p.users[0].disabled_plans,
            std::vector<std::string>{std::string{teams1_plan_id}});
  EXPECT_EQ(p.users[1].account_enabled, false);
  EXPECT_EQ(p.users[2].mail, std::nullopt);
  EXPECT_EQ(p.users[2].display_name, "Conference Room Six");
}

TEST(Licence, OnlyEnabledAccountsWithUsableTeamsPlanAreLicensed) {
  auto first = page("users-page-1.json");
  auto second = page("users-page-2.json");

  std::vector<bool> licensed;
  for (const auto* p : {&first, &second}) {
    for (const auto& u : p->users) {
      licensed.push_back(is_teams_licensed(u));
    }
  }

  // 001 Enabled, 002 Warning, 003 Enabled; 004 plan disabled, 005 account
  // disabled, 006 no licences.
  EXPECT_EQ(licensed,
            (std::vector<bool>{true, true, true, false, false, false}));
}

TEST(Licence, SuspendedPlanIsNotLicensed) {
  graph_user u;
  u.id = "x";
  u.account_enabled = true;
  u.assigned_plans.push_back({std::string{teams1_plan_id}, "Suspended", ""});

  EXPECT_FALSE(is_teams_licensed(u));
  u.assigned_plans[0].capability_status = "warning";
  EXPECT_TRUE(is_teams_licensed(u));
}

TEST(Licence, TeamspaceServiceCountsOnlyWhenConfigured) {
  graph_user u;
  u.id = "x";
  u.account_enabled = true;
  u.assigned_plans.push_back({"other-plan", "Enabled", "TeamspaceAPI"});
  licence_rule rule;

  EXPECT_FALSE(is_teams_licensed(u, rule));
  rule.accept_teamspace_service = true;
  EXPECT_TRUE(is_teams_licensed(u, rule));
}

TEST(DirectoryEntry, FixtureUsersGetTheirDialableNumbers) {
  auto p = page("users-page-1.json");

  auto one = make_directory_entry(p.users[0]);
  auto two = make_directory_entry(p.users[1]);
  auto three = make_directory_entry(p.users[2]);

  EXPECT_EQ(one.phone_e164, "+14255550101");
  EXPECT_EQ(one.phone_from, phone_source::business);
  EXPECT_TRUE(one.licensed);
  EXPECT_EQ(one.user_principal_name, "user.one@contoso.example");
  EXPECT_EQ(two.phone_e164, "+14255550102");
  EXPECT_EQ(two.phone_extension, "123");
  EXPECT_EQ(two.phone_from, phone_source::business);
  EXPECT_EQ(three.phone_e164, "+12535550103");
  EXPECT_EQ(three.phone_from, phone_source::mobile);
}

TEST(DirectoryEntry, TeamsNumberWinsOverBusinessPhone) {
  auto p = page("users-page-1.json");

  auto e = make_directory_entry(p.users[0], "+14255550199");

  EXPECT_EQ(e.phone_e164, "+14255550199");
  EXPECT_EQ(e.phone_from, phone_source::teams);
}

TEST(DirectoryEntry, RoomWithoutNumbersIsNotDialableWithReason) {
  auto p = page("users-page-2.json");

  auto room = make_directory_entry(p.users[2]);

  EXPECT_EQ(room.phone_e164, std::nullopt);
  EXPECT_EQ(room.not_dialable_reason,
            "teams: absent; businessPhones: absent; mobilePhone: absent");
  EXPECT_EQ(room.mail, "");
  EXPECT_FALSE(room.licensed);
}

TEST(DirectoryEntry, MobileIsSkippedWhenNotAllowed) {
  auto p = page("users-page-1.json");
  phone_rule rule;
  rule.allow_mobile = false;

  auto e = make_directory_entry(p.users[2], {}, {}, rule);

  EXPECT_EQ(e.phone_e164, std::nullopt);
  EXPECT_EQ(e.not_dialable_reason, "teams: absent; businessPhones: absent; "
                                   "mobilePhone: not allowed");
}

TEST(DeltaPage, RemovedUsersAndDeltaLinkAreRead) {
  auto p = parse_users_page(R"({
    "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users",
    "@odata.deltaLink": "https://graph.microsoft.com/v1.0/users/delta?$deltatoken=AbC123",
    "value": [
      { "id": "00000000-0000-0000-0000-000000000002", "accountEnabled": false },
      { "id": "00000000-0000-0000-0000-000000000007",
        "@removed": { "reason": "changed" } },
      { "id": "00000000-0000-0000-0000-000000000008",
        "@removed": { "reason": "deleted" } }
    ]})");

  ASSERT_TRUE(p) << p.err().describe();
  EXPECT_EQ(p->delta_link,
            "https://graph.microsoft.com/v1.0/users/delta?$deltatoken=AbC123");
  EXPECT_FALSE(p->next_link);
  ASSERT_EQ(p->users.size(), 3u);
  EXPECT_FALSE(p->users[0].removed);
  EXPECT_EQ(p->users[0].account_enabled, false);
  EXPECT_EQ(p->users[0].display_name, std::nullopt);
  EXPECT_TRUE(p->users[1].removed);
  EXPECT_EQ(p->users[1].removed_reason, "changed");
  EXPECT_EQ(p->users[2].removed_reason, "deleted");
}

TEST(TeamsNumber, PrimaryNumberOfTheSpecExampleIsRead) {
  constexpr std::string_view config = R"({
    "id": "00000000-0000-0000-0000-000000000001",
    "accountType": "user",
    "featureTypes": ["Teams", "CallingPlan"],
    "telephoneNumbers": [
      { "telephoneNumber": "+14255550199", "assignmentCategory": "alternate" },
      { "telephoneNumber": "+14255550101", "assignmentCategory": "primary" }
    ],
    "effectivePolicyAssignments": []
  })";

  auto direct = parse_teams_primary_number(config);
  auto wrapped = parse_teams_primary_number(
    R"({"value":{"telephoneNumbers":[{"telephoneNumber":"+1425555010",)"
    R"("assignmentCategory":"primary"}]}})");
  auto none = parse_teams_primary_number(R"({"telephoneNumbers":[]})");

  ASSERT_TRUE(direct && wrapped && none);
  EXPECT_EQ(*direct, "+14255550101");
  EXPECT_EQ(*wrapped, "+1425555010");
  EXPECT_EQ(*none, std::nullopt);
  EXPECT_EQ(teams_user_configuration_url(endpoints{}, "abc"),
            "https://graph.microsoft.com/v1.0/admin/teams/"
            "userConfigurations/abc");
}

TEST(TeamsNumber, WrongTypeNamesTheField) {
  auto r = parse_teams_primary_number(
    R"({"telephoneNumbers":[{"telephoneNumber":14255550101}]})");

  ASSERT_FALSE(r);
  EXPECT_EQ(r.err().context, "teams user configuration: telephoneNumbers[0]."
                             "telephoneNumber: expected a string");
}

TEST(TeamsConfigurations, ListPageGivesEachUsersPrimaryNumberAndNextLink) {
  constexpr std::string_view page_json = R"({
    "@odata.nextLink": "https://127.0.0.1/v1.0/admin/teams/userConfigurations?$skiptoken=T~2",
    "value": [
      { "id": "00000000-0000-0000-0000-000000000001", "accountType": "user",
        "telephoneNumbers": [
          { "telephoneNumber": "+14255550101", "assignmentCategory": "primary" } ] },
      { "id": "00000000-0000-0000-0000-000000000002", "telephoneNumbers": [
          { "telephoneNumber": "+14255550199", "assignmentCategory": "private" } ],
        "workLocation": "office" }
    ]
  })";

  auto page = parse_teams_configurations_page(page_json);

  ASSERT_TRUE(page) << page.err().describe();
  ASSERT_EQ(page->users.size(), 2u);
  EXPECT_EQ(page->users[0].user_id, "00000000-0000-0000-0000-000000000001");
  EXPECT_EQ(page->users[0].primary_number, "+14255550101");
  EXPECT_EQ(page->users[1].primary_number, std::nullopt);
  EXPECT_EQ(page->next_link, "https://127.0.0.1/v1.0/admin/teams/"
                             "userConfigurations?$skiptoken=T~2");
  EXPECT_EQ(teams_user_configurations_url(endpoints{}),
            "https://graph.microsoft.com/v1.0/admin/teams/userConfigurations");
}

TEST(TeamsConfigurations, SingleObjectAsValueIsTolerated) {
  auto page = parse_teams_configurations_page(
    R"({"value":{"id":"u1","telephoneNumbers":[{"telephoneNumber":"+4930123",)"
    R"("assignmentCategory":"Primary"}]}})");

  ASSERT_TRUE(page) << page.err().describe();
  ASSERT_EQ(page->users.size(), 1u);
  EXPECT_EQ(page->users[0].primary_number, "+4930123");
  EXPECT_EQ(page->next_link, std::nullopt);
}

TEST(TeamsConfigurations, EntryWithoutIdNamesIt) {
  auto page = parse_teams_configurations_page(
    R"({"value":[{"id":"u1"},{"telephoneNumbers":[]}]})");

  ASSERT_FALSE(page);
  EXPECT_EQ(page.err().code, sync_error::malformed);
  EXPECT_EQ(page.err().context, "teams user configuration: value[1].id: "
                                "missing");
}

TEST(TeamsConfigurations, MissingValueNamesIt) {
  auto page = parse_teams_configurations_page(R"({"@odata.context":"x"})");

  ASSERT_FALSE(page);
  EXPECT_EQ(page.err().context, "teams user configuration: value: missing");
}

TEST(UsersPage, MissingValueNamesTheField) {
  auto p = parse_users_page(R"({"@odata.nextLink":"https://x/y"})");

  ASSERT_FALSE(p);
  EXPECT_EQ(p.err().context, "users page: value: missing");
}

TEST(UsersPage, MissingIdNamesTheUser) {
  auto p = parse_users_page(R"({"value":[{"id":"a"},{"displayName":"B"}]})");

  ASSERT_FALSE(p);
  EXPECT_EQ(p.err().code, sync_error::malformed);
  EXPECT_EQ(p.err().context, "users page: value[1].id: missing");
}

TEST(UsersPage, WrongTypeNamesTheField) {
  auto p = parse_users_page(R"({"value":[{"id":"a","accountEnabled":"yes"}]})");

  ASSERT_FALSE(p);
  EXPECT_EQ(p.err().context,
            "users page: value[0].accountEnabled: expected true or false");
}

TEST(UsersPage, WrongTypeInsidePlansNamesThePlan) {
  auto p = parse_users_page(
    R"({"value":[{"id":"a","assignedPlans":[{"servicePlanId":7}]}]})");

  ASSERT_FALSE(p);
  EXPECT_EQ(p.err().context, "users page: value[0].assignedPlans[0]."
                             "servicePlanId: expected a string");
}

TEST(UsersPage, BusinessPhonesMustBeStrings) {
  auto p = parse_users_page(R"({"value":[{"id":"a","businessPhones":[1]}]})");

  ASSERT_FALSE(p);
  EXPECT_EQ(p.err().context,
            "users page: value[0].businessPhones[0]: expected a string");
}

TEST(UsersPage, TruncatedFixtureIsMalformed) {
  auto text = fixture("users-page-1.json");

  auto p = parse_users_page(text.substr(0, 1500));

  ASSERT_FALSE(p);
  EXPECT_EQ(p.err().code, sync_error::malformed);
  EXPECT_EQ(p.err().context.rfind("users page: ", 0), 0u);
}

TEST(UsersPage, ValueOfWrongTypeNamesIt) {
  auto p = parse_users_page(R"({"value":{}})");

  ASSERT_FALSE(p);
  EXPECT_EQ(p.err().context, "users page: value: expected an array");
}

} // namespace
} // namespace presync::graph
