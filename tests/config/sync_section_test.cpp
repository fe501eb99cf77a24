#include "config/sync_section.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>

namespace presync::config {
namespace {

using namespace std::chrono_literals;

class ParseSync : public ::testing::Test {
 protected:
  sync_settings parse(const std::string& yaml,
                      const known_states* states = nullptr) {
    return parse_sync(YAML::Load(yaml), "sync", diags_, states);
  }

  std::vector<std::string> lines() const { return diags_.format_all(); }

  diagnostics diags_;
};

TEST_F(ParseSync, AbsentSectionYieldsTheDefaults) {
  auto s = parse_sync(YAML::Node{}, "sync", diags_);
  auto null = parse("~");

  sync_settings defaults;
  EXPECT_EQ(s.min_hold, defaults.min_hold);
  EXPECT_EQ(s.mode, sync_mode::bidirectional);
  EXPECT_EQ(s.connect_to_teams.entries, defaults.connect_to_teams.entries);
  EXPECT_EQ(s.teams_to_connect.entries, defaults.teams_to_connect.entries);
  EXPECT_EQ(null.echo_window, 2min);
  EXPECT_TRUE(diags_.items().empty());
}

TEST_F(ParseSync, OverridesOnlyTheKeysGiven) {
  auto s = parse(R"(
mode: connect_to_teams
min_hold: 0
echo_window: 90s
chain_window: 45s
loop_max_chain: 3
loop_cooldown: 1h
available_refresh: 3m
teams_session_ttl: 2h
session_refresh_margin: 10m
reconcile_interval: 30m
directory_interval: 1m
teams_poll_interval: 2500ms
journal_size: 200
)");

  EXPECT_TRUE(diags_.items().empty()) << testing::PrintToString(lines());
  EXPECT_EQ(s.mode, sync_mode::connect_to_teams);
  EXPECT_EQ(s.min_hold, 0ms);
  EXPECT_EQ(s.echo_window, 90s);
  EXPECT_EQ(s.chain_window, 45s);
  EXPECT_EQ(s.loop_max_chain, 3);
  EXPECT_EQ(s.loop_cooldown, 1h);
  EXPECT_EQ(s.available_refresh, 3min);
  EXPECT_EQ(s.teams_session_ttl, 2h);
  EXPECT_EQ(s.session_refresh_margin, 10min);
  EXPECT_EQ(s.reconcile_interval, 30min);
  EXPECT_EQ(s.directory_interval, 1min);
  EXPECT_EQ(s.teams_poll_interval, 2500ms);
  EXPECT_EQ(s.journal_size, 200);
  EXPECT_EQ(s.teams_to_connect.entries,
            sync_settings::default_teams_to_connect().entries);
}

TEST_F(ParseSync, ReadsOffQuotedOrNot) {
  auto quoted = parse("mode: \"off\"");
  auto bare = parse("mode: off");

  EXPECT_EQ(quoted.mode, sync_mode::off);
  EXPECT_EQ(bare.mode, sync_mode::off);
  EXPECT_TRUE(diags_.items().empty());
}

TEST_F(ParseSync, GivenConnectToTeamsMapReplacesTheDefault) {
  auto s = parse(R"(
connect_to_teams:
  Lunch: away
  OnContact: busy/inacall
  Available: Available
  Offline: clear
  "*": DoNotDisturb/Presenting
)");

  ASSERT_TRUE(diags_.items().empty()) << testing::PrintToString(lines());
  ASSERT_EQ(s.connect_to_teams.entries.size(), 4u);
  EXPECT_EQ(s.connect_to_teams.entries[0].first, "Lunch");
  EXPECT_EQ(s.connect_to_teams.entries[0].second.describe(), "Away/Away");
  EXPECT_EQ(s.connect_to_teams.entries[1].second.describe(), "Busy/InACall");
  EXPECT_EQ(s.connect_to_teams.entries[2].second.describe(),
            "Available/Available");
  EXPECT_TRUE(s.connect_to_teams.entries[3].second.is_clear());
  ASSERT_TRUE(s.connect_to_teams.fallback.has_value());
  EXPECT_EQ(s.connect_to_teams.fallback->describe(), "DoNotDisturb/Presenting");
  // The default's entries are gone, not merged.
  EXPECT_EQ(s.connect_to_teams.lookup("Missed")->describe(),
            "DoNotDisturb/Presenting");
  EXPECT_EQ(s.teams_to_connect.entries,
            sync_settings::default_teams_to_connect().entries);
}

TEST_F(ParseSync, MapWithoutFallbackLeavesUnlistedStatesWithoutRule) {
  auto s = parse("connect_to_teams: {Available: Available/Available}");

  EXPECT_FALSE(s.connect_to_teams.fallback.has_value());
  EXPECT_FALSE(s.connect_to_teams.lookup("Lunch").has_value());
}

TEST_F(ParseSync, GivenTeamsToConnectMapReplacesTheDefault) {
  auto s = parse(R"(
teams_to_connect:
  busy/inameeting:
    status: Meeting
    only_when_connect_in: [Available, Lunch]
    never_during_contact: false
    restore_on_exit: true
  busy: {status: TeamsBusy}
  AWAY: ignore
)");

  ASSERT_TRUE(diags_.items().empty()) << testing::PrintToString(lines());
  const auto& e = s.teams_to_connect.entries;
  ASSERT_EQ(e.size(), 3u);
  EXPECT_EQ(e[0].first, "Busy/InAMeeting");
  EXPECT_EQ(e[0].second.what, teams_rule::action::set_status);
  EXPECT_EQ(e[0].second.status, "Meeting");
  EXPECT_EQ(e[0].second.only_when_connect_in,
            (std::vector<std::string>{"Available", "Lunch"}));
  EXPECT_FALSE(e[0].second.never_during_contact);
  EXPECT_TRUE(e[0].second.restore_on_exit);
  EXPECT_EQ(e[1].first, "Busy");
  EXPECT_EQ(e[1].second, teams_rule::set("TeamsBusy"));
  EXPECT_TRUE(e[1].second.never_during_contact);
  EXPECT_FALSE(e[1].second.restore_on_exit);
  EXPECT_EQ(e[2].first, "Away");
  EXPECT_EQ(e[2].second, teams_rule::ignore());
  EXPECT_FALSE(s.teams_to_connect.lookup({"DoNotDisturb", "Presenting"}));
}

TEST_F(ParseSync, BareKeyStaysBareAndPairKeyStaysAPair) {
  auto s = parse(R"(
teams_to_connect:
  busy/busy: {status: A}
  busyidle: ignore
)");

  ASSERT_TRUE(diags_.items().empty()) << testing::PrintToString(lines());
  EXPECT_EQ(s.teams_to_connect.entries[0].first, "Busy/Busy");
  EXPECT_EQ(s.teams_to_connect.entries[1].first, "BusyIdle");
}

TEST_F(ParseSync, RejectsUnpublishablePairListingTheAllowedOnes) {
  auto s = parse("connect_to_teams: {Lunch: Busy/Busy}");

  ASSERT_EQ(diags_.items().size(), 1u);
  EXPECT_EQ(lines()[0],
            "line 1: error: sync.connect_to_teams.Lunch: Busy/Busy cannot be "
            "published by an application session; allowed: "
            "Available/Available, Busy/InACall, Busy/InAConferenceCall, "
            "Away/Away, DoNotDisturb/Presenting");
  // A map with an error does not replace the default.
  EXPECT_EQ(s.connect_to_teams.entries,
            sync_settings::default_connect_to_teams().entries);
}

TEST_F(ParseSync, NamesUnknownKeyWithTheLikelyIntendedOne) {
  parse("\n\nmin_hlod: 10s\n");

  ASSERT_EQ(diags_.items().size(), 1u);
  EXPECT_EQ(
    lines()[0],
    "line 3: error: sync.min_hlod: unknown key; did you mean min_hold?");
}

TEST_F(ParseSync, KeepsDefaultForAValueThatIsWrong) {
  auto s = parse("min_hold: 15\nloop_max_chain: 0\necho_window: 1m");

  EXPECT_EQ(diags_.error_count(), 2u);
  EXPECT_EQ(s.min_hold, 15s);
  EXPECT_EQ(s.loop_max_chain, 6);
  EXPECT_EQ(s.echo_window, 1min);
}

TEST_F(ParseSync, ChecksDurationLimits) {
  parse(R"(
teams_session_ttl: 4m
available_refresh: 0s
teams_poll_interval: 999ms
reconcile_interval: 0
)");

  auto l = lines();
  ASSERT_EQ(l.size(), 4u);
  EXPECT_EQ(l[0], "line 2: error: sync.teams_session_ttl: 4m is out of range;"
                  " allowed 5m..4h (setPresence's expirationDuration "
                  "limits)");
  EXPECT_EQ(l[1], "line 3: error: sync.available_refresh: 0s is out of "
                  "range; allowed more than 0s and less than 5m (Teams fades"
                  " an idle Available session after 5m)");
  EXPECT_EQ(l[2], "line 4: error: sync.teams_poll_interval: 999ms is out of "
                  "range; allowed at least 1s");
  EXPECT_EQ(l[3], "line 5: error: sync.reconcile_interval: 0s is out of "
                  "range; allowed more than 0s");
}

TEST_F(ParseSync, AcceptsTheLimitsThemselves) {
  auto s = parse(R"(
teams_session_ttl: 4h
available_refresh: 4m
teams_poll_interval: 1s
loop_max_chain: 1000
journal_size: 1
)");

  EXPECT_TRUE(diags_.items().empty()) << testing::PrintToString(lines());
  EXPECT_EQ(s.teams_session_ttl, 4h);
  EXPECT_EQ(s.loop_max_chain, 1000);
  EXPECT_EQ(s.journal_size, 1);
}

TEST_F(ParseSync, RefreshMarginMustBeShorterThanTheSessionLifetime) {
  parse("teams_session_ttl: 5m");

  ASSERT_EQ(diags_.items().size(), 1u);
  EXPECT_EQ(lines()[0], "line 1: error: sync.teams_session_ttl: "
                        "session_refresh_margin (5m) must be shorter than "
                        "teams_session_ttl (5m)");
}

TEST_F(ParseSync, UnknownTeamsValuesGetASuggestion) {
  parse(R"(
teams_to_connect:
  Busy/InAMeting: ignore
  Bussy: ignore
connect_to_teams:
  Lunch: Away/Awy
)");

  auto l = lines();
  ASSERT_EQ(l.size(), 3u);
  EXPECT_EQ(l[0], "line 3: error: sync.teams_to_connect.Busy/InAMeting: "
                  "unknown activity InAMeting; did you mean InAMeeting?");
  EXPECT_EQ(l[1], "line 4: error: sync.teams_to_connect.Bussy: unknown "
                  "availability Bussy; did you mean Busy?");
  EXPECT_EQ(l[2], "line 6: error: sync.connect_to_teams.Lunch: unknown "
                  "activity Awy; did you mean Away?");
}

TEST_F(ParseSync, ConditionsMustNameKnownStatesWhenACatalogueIsGiven) {
  known_states states{{"Lunch"}};
  const char* yaml = R"(
connect_to_teams: {Break: Away/Away, "*": Away/Away}
teams_to_connect:
  Busy: {status: Meeting, only_when_connect_in: [lunch, Break, Meeting,
                                                 offline, Trainig]}
  DoNotDisturb: {status: Training}
)";

  parse(yaml, &states);

  ASSERT_EQ(diags_.items().size(), 1u) << testing::PrintToString(lines());
  EXPECT_EQ(lines()[0],
            "line 5: error: sync.teams_to_connect.Busy.only_when_connect_in[4]:"
            " unknown Connect state Trainig; did you mean Training? (known: "
            "Available, Offline, OnContact, Incoming, AfterContactWork, "
            "Missed, Error, LoggedOut, Lunch, Meeting, Training, Break; list "
            "custom statuses in connect.agent_statuses)");
}

TEST_F(ParseSync, ConditionsAreNotCheckedWithoutACatalogue) {
  auto s = parse("teams_to_connect: {Busy: {status: A, "
                 "only_when_connect_in: [Lunch]}}");

  EXPECT_TRUE(diags_.items().empty()) << testing::PrintToString(lines());
  EXPECT_EQ(s.teams_to_connect.entries[0].second.only_when_connect_in,
            std::vector<std::string>{"Lunch"});
}

TEST_F(ParseSync, DerivedStateCannotBeSetAsAStatus) {
  parse("teams_to_connect: {Busy: {status: AfterContactWork}}");

  ASSERT_EQ(diags_.items().size(), 1u);
  EXPECT_EQ(lines()[0], "line 1: error: sync.teams_to_connect.Busy.status: "
                        "AfterContactWork is a state presync derives from "
                        "contacts and events; it cannot be set as an agent "
                        "status");
}

TEST_F(ParseSync, WarnsAboutRulesThatChaseEachOther) {
  const char* yaml = R"(
connect_to_teams:
  Meeting: DoNotDisturb/Presenting
  Lunch: Busy/InACall
teams_to_connect:
  Busy/InACall: {status: Meeting}
  DoNotDisturb: {status: Lunch}
)";

  parse(yaml);

  ASSERT_EQ(diags_.items().size(), 1u);
  EXPECT_FALSE(diags_.has_errors());
  EXPECT_EQ(lines()[0], "line 2: warning: sync: rules can chase each other: "
                        "Meeting -> DoNotDisturb/Presenting -> Lunch -> "
                        "Busy/InACall -> Meeting");
}

TEST_F(ParseSync, OneWayModeCannotLoop) {
  parse(R"(
mode: connect_to_teams
connect_to_teams: {Meeting: DoNotDisturb/Presenting, Lunch: Busy/InACall}
teams_to_connect:
  Busy/InACall: {status: Meeting}
  DoNotDisturb: {status: Lunch}
)");

  EXPECT_TRUE(diags_.items().empty()) << testing::PrintToString(lines());
}

TEST(FindRuleCycles, DefaultMapsHaveNone) {
  EXPECT_TRUE(find_rule_cycles(sync_settings{}).empty());
}

TEST(FindRuleCycles, ConditionThatExcludesTheSourceBreaksTheChain) {
  sync_settings s;
  s.connect_to_teams.entries = {
    {"Meeting", teams_target::of({"DoNotDisturb", "Presenting"})},
    {"Lunch", teams_target::of({"Busy", "InACall"})},
  };
  auto to_lunch = teams_rule::set("Lunch");
  to_lunch.only_when_connect_in = {"Available"};
  s.teams_to_connect.entries = {
    {"DoNotDisturb", to_lunch},
    {"Busy/InACall", teams_rule::set("Meeting")},
  };

  EXPECT_TRUE(find_rule_cycles(s).empty());

  s.teams_to_connect.entries[0].second.only_when_connect_in = {"meeting"};
  auto cycles = find_rule_cycles(s);
  ASSERT_EQ(cycles.size(), 1u);
  EXPECT_EQ(cycles[0],
            (std::vector<std::string>{"Lunch", "Busy/InACall", "Meeting",
                                      "DoNotDisturb/Presenting", "Lunch"}));
}

TEST(FindRuleCycles, FindsACycleReachedThroughTheFallbackOnce) {
  sync_settings s;
  s.connect_to_teams.entries = {};
  s.connect_to_teams.fallback = teams_target::of({"Away", "Away"});
  s.teams_to_connect.entries = {
    {"Away", teams_rule::set("Break")},
    {"Busy", teams_rule::set("Break")},
  };
  // Break -> Away/Away -> Break is the agent's own status: unchanged, no loop.
  EXPECT_TRUE(find_rule_cycles(s).empty());

  s.connect_to_teams.entries = {
    {"Break", teams_target::of({"Busy", "InACall"})},
  };
  s.teams_to_connect.entries[1].second = teams_rule::set("Tea");
  // Tea -> Away/Away -> Break -> Busy/InACall -> Tea.
  auto cycles = find_rule_cycles(s);
  ASSERT_EQ(cycles.size(), 1u);
  EXPECT_EQ(cycles[0], (std::vector<std::string>{"Break", "Busy/InACall", "Tea",
                                                 "Away/Away", "Break"}));
}

// The scenario runner reads each story's `sync:` block with parse_sync; every
// shared story must read without a problem.
TEST(ScenarioSyncBlocks, EveryStoryReadsCleanly) {
  namespace fs = std::filesystem;
  std::size_t with_sync = 0;
  for (const auto& f :
       fs::directory_iterator(PRESYNC_SHARED_DIR "/scenarios")) {
    if (f.path().extension() != ".yaml") {
      continue;
    }
    SCOPED_TRACE(f.path().filename().string());
    auto story = YAML::LoadFile(f.path().string());
    diagnostics diags{f.path().filename().string()};

    [[maybe_unused]] auto s = parse_sync(story["sync"], "sync", diags);

    EXPECT_TRUE(diags.items().empty())
      << testing::PrintToString(diags.format_all());
    if (story["sync"].IsDefined()) {
      ++with_sync;
    }
  }
  EXPECT_GE(with_sync, 3u);
}

} // namespace
} // namespace presync::config
