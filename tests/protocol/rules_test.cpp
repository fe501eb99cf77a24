#include "protocol/rules.hpp"

#include <gtest/gtest.h>

namespace presync {
namespace {

TEST(TeamsToConnectMap, ExactKeyWinsOverBareKey) {
  teams_to_connect_map m;
  m.entries = {{"Busy", teams_rule::set("TeamsBusy")},
               {"Busy/InAMeeting", teams_rule::set("Meeting")}};

  auto exact = m.lookup({"Busy", "InAMeeting"});
  auto bare = m.lookup({"Busy", "InACall"});

  ASSERT_TRUE(exact);
  EXPECT_EQ(exact->rule.status, "Meeting");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->rule.status, "TeamsBusy");
  EXPECT_EQ(bare->key, "Busy");
}

TEST(TeamsToConnectMap, UnlistedKeyHasNoRule) {
  auto m = sync_settings::default_teams_to_connect();

  EXPECT_FALSE(m.lookup({"Available", "Available"}));
  EXPECT_FALSE(m.lookup({"Busy", "InACall"}));
}

TEST(TeamsToConnectMap, DefaultMapIgnoresAutomaticPresences) {
  auto m = sync_settings::default_teams_to_connect();

  for (const char* key :
       {"Away/Away", "BeRightBack/BeRightBack", "Offline/OffWork",
        "AvailableIdle/Available", "BusyIdle/BusyIdle", "PresenceUnknown"}) {
    auto match = m.lookup(*parse_presence(key));
    ASSERT_TRUE(match) << key;
    EXPECT_EQ(match->rule.what, teams_rule::action::ignore) << key;
  }
}

TEST(TeamsToConnectMap, DefaultMeetingRuleRestoresOnlyFromAvailable) {
  auto m = sync_settings::default_teams_to_connect();

  auto match = m.lookup({"DoNotDisturb", "Presenting"});

  ASSERT_TRUE(match);
  EXPECT_EQ(match->rule.status, "Meeting");
  EXPECT_TRUE(match->rule.restore_on_exit);
  EXPECT_TRUE(match->rule.never_during_contact);
  EXPECT_EQ(match->rule.only_when_connect_in,
            std::vector<std::string>{"Available"});
}

TEST(ConnectToTeamsMap, StarCoversEveryUnlistedState) {
  auto m = sync_settings::default_connect_to_teams();

  EXPECT_EQ(m.lookup("Lunch")->describe(), "Away/Away");
  EXPECT_EQ(m.lookup("OnContact")->describe(), "Busy/InACall");
  EXPECT_EQ(m.lookup("LoggedOut")->describe(), "clear");
  EXPECT_EQ(m.lookup("available")->describe(), "Available/Available");
}

TEST(ConnectToTeamsMap, WithoutStarAnUnlistedStateHasNoRule) {
  connect_to_teams_map m;
  m.entries = {{"Available", teams_target::of({"Available", "Available"})}};

  EXPECT_FALSE(m.lookup("Lunch"));
}

TEST(SyncMode, SwitchesEachDirection) {
  sync_settings s;
  s.mode = sync_mode::connect_to_teams;
  EXPECT_TRUE(s.syncs_connect_to_teams());
  EXPECT_FALSE(s.syncs_teams_to_connect());
  s.mode = sync_mode::off;
  EXPECT_FALSE(s.syncs_connect_to_teams());
  EXPECT_FALSE(s.syncs_teams_to_connect());
  EXPECT_EQ(parse_sync_mode("teams_to_connect"), sync_mode::teams_to_connect);
  EXPECT_FALSE(parse_sync_mode("both"));
}

} // namespace
} // namespace presync
