#include "protocol/identity.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace presync {
namespace {

const std::vector<identity_key> default_order = {
  identity_key::upn, identity_key::mail, identity_key::username};

const matched_person* find(const identity_result& r, const std::string& id) {
  auto i = std::find_if(r.people.begin(), r.people.end(),
                        [&](const auto& p) { return p.id == id; });
  return i == r.people.end() ? nullptr : &*i;
}

TEST(Identity, NormalisesCaseAndSpace) {
  EXPECT_EQ(normalise_identity("  Ada.Lovelace@Contoso.COM\t"),
            "ada.lovelace@contoso.com");
  EXPECT_EQ(normalise_identity("   "), "");
}

TEST(Identity, PairsByUpnThenMailThenUsername) {
  std::vector<teams_account> teams = {
    {"t1", "Ada@contoso.com", "ada@contoso.com", "Ada"},
    {"t2", "bob@contoso.onmicrosoft.com", "Bob@Contoso.com", "Bob"},
    {"t3", "carol@contoso.com", "", "Carol"},
    {"t4", "dave@contoso.com", "dave@contoso.com", "Dave"},
  };
  std::vector<connect_account> connect = {
    {"c1", "ada@contoso.com", "", "Ada"},
    {"c2", "bob", "bob@contoso.com", "Bob"},
    {"c3", "carol", "", "Carol"},
    {"c9", "zed", "zed@contoso.com", "Zed"},
  };

  auto r = match_identities(teams, connect, {}, default_order);

  ASSERT_EQ(r.people.size(), 5u); // 4 Teams users + the unmatched agent
  EXPECT_EQ(find(r, "t1")->connect, 0u);
  EXPECT_EQ(find(r, "t1")->matched_by, "upn");
  EXPECT_EQ(find(r, "t2")->connect, 1u);
  EXPECT_EQ(find(r, "t2")->matched_by, "mail");
  EXPECT_EQ(find(r, "t3")->connect, 2u);
  EXPECT_EQ(find(r, "t3")->matched_by, "username");
  EXPECT_FALSE(find(r, "t4")->connect);
  ASSERT_NE(find(r, "c9"), nullptr);
  EXPECT_FALSE(find(r, "c9")->teams);
  EXPECT_TRUE(r.conflicts.empty());
}

TEST(Identity, OrderDecidesWhichKeyPairs) {
  // By UPN, t1 pairs with c1; by mail alone it would pair with c2.
  std::vector<teams_account> teams = {{"t1", "a@x.com", "b@x.com", ""}};
  std::vector<connect_account> connect = {{"c1", "a@x.com", "", ""},
                                          {"c2", "other", "b@x.com", ""}};

  auto upn_first = match_identities(teams, connect, {}, default_order);
  auto mail_first = match_identities(teams, connect, {},
                                     {identity_key::mail, identity_key::upn});

  EXPECT_EQ(find(upn_first, "t1")->connect, 0u);
  EXPECT_EQ(find(mail_first, "t1")->connect, 1u);
  EXPECT_NE(find(mail_first, "c1"), nullptr); // the other agent stays alone
}

TEST(Identity, TwoClaimsOnOneIdentityPairNeither) {
  std::vector<teams_account> teams = {{"t1", "sam@x.com", "sam@x.com", ""},
                                      {"t2", "sam2@x.com", "sam@x.com", ""}};
  std::vector<connect_account> connect = {{"c1", "nobody", "sam@x.com", ""}};

  auto r = match_identities(teams, connect, {}, default_order);

  ASSERT_EQ(r.conflicts.size(), 1u);
  EXPECT_EQ(r.conflicts[0].key, "mail");
  EXPECT_EQ(r.conflicts[0].value, "sam@x.com");
  EXPECT_EQ(r.conflicts[0].teams_ids, (std::vector<std::string>{"t1", "t2"}));
  EXPECT_EQ(r.conflicts[0].connect_ids, std::vector<std::string>{"c1"});

  // Both Teams users are listed, Teams-only; the agent is synced by nobody.
  ASSERT_EQ(r.people.size(), 2u);
  EXPECT_FALSE(find(r, "t1")->connect);
  EXPECT_FALSE(find(r, "t2")->connect);
  EXPECT_EQ(find(r, "c1"), nullptr);
}

TEST(Identity, AConflictIsNotResolvedByALaterKey) {
  // Two agents share the username "kim"; the upn key would not see it, but
  // the username key does, and the mail key after it must not pick one.
  std::vector<teams_account> teams = {{"t1", "kim@x.com", "kim@x.com", ""}};
  std::vector<connect_account> connect = {{"c1", "kim", "kim@x.com", ""},
                                          {"c2", "kim@y.com", "", ""}};

  auto r = match_identities(
    teams, connect, {},
    {identity_key::username, identity_key::mail, identity_key::upn});

  ASSERT_EQ(r.conflicts.size(), 1u);
  EXPECT_EQ(r.conflicts[0].key, "username");
  EXPECT_FALSE(find(r, "t1")->connect);
  EXPECT_EQ(find(r, "c1"), nullptr);
  EXPECT_EQ(find(r, "c2"), nullptr);
}

TEST(Identity, MappingWinsOverMatching) {
  std::vector<teams_account> teams = {{"t1", "ann@x.com", "ann@x.com", ""},
                                      {"t2", "ann.b@x.com", "", ""}};
  std::vector<connect_account> connect = {{"c1", "ann@x.com", "", ""}};
  std::vector<identity_pair> mapping = {{"ANN.B@x.com", "c1", 3}};

  auto r = match_identities(teams, connect, mapping, default_order);

  EXPECT_EQ(find(r, "t2")->connect, 0u);
  EXPECT_EQ(find(r, "t2")->matched_by, "mapping");
  EXPECT_FALSE(find(r, "t1")->connect);
  EXPECT_TRUE(r.problems.empty());
}

TEST(Identity, MappingProblemsNameTheirLine) {
  std::vector<teams_account> teams = {{"t1", "a@x.com", "", ""}};
  std::vector<connect_account> connect = {{"c1", "a@x.com", "", ""}};
  std::vector<identity_pair> mapping = {{"ghost@x.com", "c1", 7},
                                        {"t1", "nobody", 8}};

  auto r = match_identities(teams, connect, mapping, default_order);

  ASSERT_EQ(r.problems.size(), 2u);
  EXPECT_EQ(r.problems[0], "mapping line 7: Teams user 'ghost@x.com' "
                           "not found");
  EXPECT_EQ(r.problems[1], "mapping line 8: Connect user 'nobody' not found");
  EXPECT_EQ(find(r, "t1")->matched_by, "upn"); // matching still runs
}

TEST(Identity, AnAccountMappedTwiceIsAConflict) {
  std::vector<teams_account> teams = {{"t1", "a@x.com", "", ""},
                                      {"t2", "b@x.com", "", ""}};
  std::vector<connect_account> connect = {{"c1", "agent1", "", ""}};
  std::vector<identity_pair> mapping = {{"t1", "c1", 1}, {"t2", "c1", 2}};

  auto r = match_identities(teams, connect, mapping, default_order);

  EXPECT_FALSE(find(r, "t1")->connect);
  EXPECT_FALSE(find(r, "t2")->connect);
  EXPECT_EQ(find(r, "c1"), nullptr);
  EXPECT_FALSE(r.conflicts.empty());
}

TEST(Identity, NobodyAppearsTwice) {
  std::vector<teams_account> teams;
  std::vector<connect_account> connect;
  for (int i = 0; i < 50; ++i) {
    auto n = std::to_string(i);
    teams.push_back({"t" + n, "u" + n + "@x.com", "u" + n + "@x.com", ""});
    connect.push_back({"c" + n, i % 3 == 0 ? "u" + n + "@x.com" : "k" + n,
                       i % 2 == 0 ? "u" + std::to_string(i / 2) + "@x.com" : "",
                       ""});
  }

  auto r = match_identities(teams, connect, {}, default_order);

  std::vector<size_t> seen_teams;
  std::vector<size_t> seen_connect;
  for (const auto& p : r.people) {
    if (p.teams) {
      seen_teams.push_back(*p.teams);
    }
    if (p.connect) {
      seen_connect.push_back(*p.connect);
    }
  }
  std::sort(seen_teams.begin(), seen_teams.end());
  std::sort(seen_connect.begin(), seen_connect.end());
  EXPECT_EQ(seen_teams.size(), teams.size());
  EXPECT_EQ(std::adjacent_find(seen_teams.begin(), seen_teams.end()),
            seen_teams.end());
  EXPECT_EQ(std::adjacent_find(seen_connect.begin(), seen_connect.end()),
            seen_connect.end());
}

} // namespace
} // namespace presync
