#include "protocol/status.hpp"

#include <gtest/gtest.h>

namespace presync {
namespace {

TEST(Presence, ParsesPairsCaseInsensitively) {
  auto p = parse_presence("busy/inacall");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->availability, "Busy");
  EXPECT_EQ(p->activity, "InACall");
}

TEST(Presence, BareAvailabilityRepeatsItAsActivity) {
  auto p = parse_presence("DoNotDisturb");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->key(), "DoNotDisturb/DoNotDisturb");
}

TEST(Presence, KeepsUnknownValuesButRulesSeePresenceUnknown) {
  auto p = parse_presence("Busy/Juggling");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->activity, "Juggling");
  EXPECT_EQ(rule_view(*p).key(), "Busy/PresenceUnknown");
}

TEST(Presence, RejectsMalformedText) {
  EXPECT_FALSE(parse_presence(""));
  EXPECT_FALSE(parse_presence("/Busy"));
  EXPECT_FALSE(parse_presence("Busy/"));
  EXPECT_FALSE(parse_presence("Busy/In A Call"));
}

TEST(Presence, OnlyGraphsAcceptedPairsArePublishable) {
  EXPECT_TRUE(is_publishable({"Busy", "InACall"}));
  EXPECT_TRUE(is_publishable({"Away", "Away"}));
  EXPECT_FALSE(is_publishable({"Busy", "Busy"}));
  EXPECT_FALSE(is_publishable({"Busy", "InAMeeting"}));
  EXPECT_EQ(publishable_presences().size(), 5u);
}

TEST(Presence, GenericActivityReportsAWrittenPair) {
  EXPECT_TRUE(reports_as({"Busy", "Busy"}, {"Busy", "InACall"}));
  EXPECT_TRUE(reports_as({"Busy", "InACall"}, {"Busy", "InACall"}));
  EXPECT_FALSE(reports_as({"Busy", "InAMeeting"}, {"Busy", "InACall"}));
  EXPECT_FALSE(reports_as({"Away", "Away"}, {"Busy", "InACall"}));
}

TEST(EffectiveState, ContactsOutrankTheStatusName) {
  agent_snapshot s{"Available", {{"ENDED", "VOICE"}, {"CONNECTED", "VOICE"}}};
  EXPECT_EQ(effective_state(s), "OnContact");
  s.contacts = {{"ENDED", "CHAT"}, {"CONNECTING", "VOICE"}};
  EXPECT_EQ(effective_state(s), "Incoming");
  s.contacts = {{"MISSED", "VOICE"}, {"ENDED", "CHAT"}};
  EXPECT_EQ(effective_state(s), "AfterContactWork");
  s.contacts = {{"ERROR", "VOICE"}, {"REJECTED", "CHAT"}};
  EXPECT_EQ(effective_state(s), "Missed");
  s.contacts = {{"ERROR", "VOICE"}};
  EXPECT_EQ(effective_state(s), "Error");
  s.contacts = {};
  EXPECT_EQ(effective_state(s), "Available");
}

TEST(EffectiveState, LogoutWinsOverEverything) {
  agent_snapshot s{"Offline", {{"CONNECTED", "VOICE"}}, true};
  EXPECT_EQ(effective_state(s), "LoggedOut");
}

} // namespace
} // namespace presync
