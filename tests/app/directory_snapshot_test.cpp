#include "app/directory_snapshot.hpp"

#include <gtest/gtest.h>

#include <set>

namespace presync::app {
namespace {

/// Three people: Ada (both sides, Teams number), Bo (both sides, Connect
/// desk phone only), Olivia (Teams only, no number), and agent Zed
/// (Connect only, mobile).
directory_inputs sample() {
  directory_inputs in;
  auto teams = [&](std::string id, std::string name, std::string upn,
                   std::optional<std::string> phone) {
    graph::directory_entry e;
    e.id = id;
    e.display_name = name;
    e.mail = upn;
    e.user_principal_name = upn;
    e.phone_e164 = phone;
    e.phone_from =
      phone ? graph::phone_source::business : graph::phone_source::none;
    e.not_dialable_reason = phone ? "" : "no businessPhones or mobilePhone";
    in.teams_entries[id] = e;
    in.teams.push_back(teams_account{id, upn, upn, name});
  };
  teams("g-ada", "Ada Agent", "ada@example.com", "+14255550101");
  teams("g-bo", "Bo Agent", "bo@example.com", std::nullopt);
  teams("g-olivia", "Olivia Office", "olivia@example.com", std::nullopt);

  auto agent = [&](std::string id, std::string username, std::string desk,
                   std::string mobile) {
    connect_user_info u;
    u.summary.id = id;
    u.summary.arn = "arn:aws:connect:::agent/" + id;
    u.summary.username = username;
    connect::user_details d;
    d.id = id;
    d.username = username;
    d.first_name = "Zed";
    d.last_name = "Agent";
    d.desk_phone_number = desk;
    d.mobile = mobile;
    u.details = d;
    in.connect_users[id] = u;
    in.agents.push_back(connect_account{id, username, "", username});
  };
  agent("c-ada", "ada@example.com", "+14255550201", "");
  agent("c-bo", "bo@example.com", "+14255550202", "");
  agent("c-zed", "zed@example.com", "", "+14255550204");

  in.people.people = {
    {"g-ada", 0, 0, "upn"},
    {"g-bo", 1, 1, "upn"},
    {"g-olivia", 2, std::nullopt, ""},
    {"c-zed", std::nullopt, 2, ""},
  };
  return in;
}

TEST(DirectorySnapshot, ListsEveryPersonOnceInNameOrder) {
  auto snap = build_directory_snapshot(sample(), 1);

  std::vector<std::string> names;
  for (const auto& p : snap->people()) {
    names.push_back(p.display_name);
  }

  EXPECT_EQ(names, (std::vector<std::string>{"Ada Agent", "Bo Agent",
                                             "Olivia Office", "Zed Agent"}));
}

TEST(DirectorySnapshot, TeamsNumberFirstThenDeskPhoneThenMobile) {
  auto snap = build_directory_snapshot(sample(), 1);

  EXPECT_EQ(snap->find("g-ada")->number, "+14255550101");
  EXPECT_EQ(snap->find("g-ada")->number_source, "businessPhones");
  EXPECT_EQ(snap->find("g-bo")->number, "+14255550202");
  EXPECT_EQ(snap->find("g-bo")->number_source, "connect_desk");
  EXPECT_EQ(snap->find("c-zed")->number, "+14255550204");
  EXPECT_EQ(snap->find("c-zed")->number_source, "connect_mobile");
}

TEST(DirectorySnapshot, APersonWithoutANumberSaysWhy) {
  auto in = sample();
  in.connect_users["c-zed"].details.reset();

  auto snap = build_directory_snapshot(in, 1);

  const auto* olivia = snap->find("g-olivia");
  EXPECT_FALSE(olivia->dialable());
  EXPECT_EQ(olivia->not_dialable_reason,
            "Teams: no businessPhones or mobilePhone");
  EXPECT_EQ(snap->find("c-zed")->not_dialable_reason,
            "Connect: the agent's phone settings are not read yet");
  EXPECT_EQ(snap->find("c-zed")->display_name, "zed@example.com");
}

TEST(DirectorySnapshot, DeskPhonesRouteAndTheMappingFileWins) {
  auto in = sample();
  in.did_mapping = {
    {"+14255550201", "", "zed@example.com", 1},
    {"+14255550300", "12", "C-BO", 2},
    {"+14255550999", "", "nobody@example.com", 3},
  };

  auto snap = build_directory_snapshot(in, 1);

  auto desk = snap->route("+14255550202", "");
  auto mapped = snap->route("+14255550201", "");
  auto ext = snap->route("+14255550300", "12");
  auto wrong_ext = snap->route("+14255550300", "13");
  auto none = snap->route("+14255550777", "");
  ASSERT_NE(desk.entry, nullptr);
  EXPECT_EQ(desk.entry->agent_id, "c-bo");
  EXPECT_EQ(desk.entry->person, "g-bo");
  EXPECT_EQ(desk.entry->source, "connect");
  ASSERT_NE(mapped.entry, nullptr);
  EXPECT_EQ(mapped.entry->agent_id, "c-zed");
  EXPECT_EQ(mapped.entry->source, "mapping");
  ASSERT_NE(ext.entry, nullptr);
  EXPECT_EQ(ext.entry->agent_id, "c-bo");
  EXPECT_EQ(wrong_ext.entry, nullptr);
  EXPECT_EQ(wrong_ext.reason, "no agent has this extension on this number");
  EXPECT_EQ(none.reason, "no agent has this direct number");
  ASSERT_EQ(snap->problems().size(), 1u);
  EXPECT_EQ(snap->problems()[0],
            "did_mapping_file line 3: no Connect user nobody@example.com");
}

TEST(DirectorySnapshot, ANumberTwoAgentsShareRoutesToNobody) {
  auto in = sample();
  in.connect_users["c-zed"].details->desk_phone_number = "+14255550202";

  auto snap = build_directory_snapshot(in, 1);

  EXPECT_EQ(snap->route("+14255550202", "").entry, nullptr);
  ASSERT_EQ(snap->problems().size(), 1u);
  EXPECT_EQ(snap->problems()[0].find("4255550202"), std::string::npos)
    << "the number is masked";
}

TEST(DirectoryQuery, SearchesNameEmailAndNumber) {
  auto snap = build_directory_snapshot(sample(), 1);
  presence_board board;
  auto names = [&](std::string q) {
    std::vector<std::string> out;
    for (const auto* p :
         query_directory(*snap, board, {q, {}, 100, ""}).items) {
      out.push_back(p->display_name);
    }
    return out;
  };

  EXPECT_EQ(names("olivia"), (std::vector<std::string>{"Olivia Office"}));
  EXPECT_EQ(names("bo@example"), (std::vector<std::string>{"Bo Agent"}));
  EXPECT_EQ(names("(425) 555-0204"), (std::vector<std::string>{"Zed Agent"}));
  EXPECT_EQ(names("agent").size(), 3u);
  EXPECT_TRUE(names("nobody").empty());
}

TEST(DirectoryQuery, FiltersByPresence) {
  auto snap = build_directory_snapshot(sample(), 1);
  presence_board board;
  board.seed("g-ada", live_state{presence{"Busy", "InACall"}, "OnContact", 1});
  board.seed("c-zed", live_state{std::nullopt, "Available", 1});

  auto busy =
    query_directory(*snap, board, {"", {presence_category::busy}, 100, ""});
  auto reachable = query_directory(
    *snap, board,
    {"", {presence_category::available, presence_category::unknown}, 100, ""});

  ASSERT_EQ(busy.items.size(), 1u);
  EXPECT_EQ(busy.items[0]->id, "g-ada");
  EXPECT_EQ(busy.live[0].connect_state, "OnContact");
  EXPECT_EQ(reachable.total, 3u);
}

TEST(DirectoryQuery, CursorsPageThroughEveryoneAndSurviveANewSnapshot) {
  auto in = sample();
  auto snap = build_directory_snapshot(in, 1);
  presence_board board;

  auto first = query_directory(*snap, board, {"", {}, 2, ""});
  ASSERT_TRUE(first.next_after);
  auto cursor = encode_cursor(*first.next_after);

  // A new person sorting before the cursor does not shift the next page.
  in.teams_entries["g-aaron"] = {};
  in.teams.push_back(teams_account{"g-aaron", "aaron@example.com",
                                   "aaron@example.com", "Aaron First"});
  in.people.people.push_back({"g-aaron", 3, std::nullopt, ""});
  auto newer = build_directory_snapshot(in, 2);
  auto second =
    query_directory(*newer, board, {"", {}, 2, *decode_cursor(cursor)});

  EXPECT_EQ(first.total, 4u);
  ASSERT_EQ(second.items.size(), 2u);
  EXPECT_EQ(second.items[0]->display_name, "Olivia Office");
  EXPECT_EQ(second.items[1]->display_name, "Zed Agent");
  EXPECT_FALSE(second.next_after);
  EXPECT_EQ(second.total, 5u);
}

TEST(DirectoryQuery, OnlyCursorsThisServerMadeDecode) {
  EXPECT_EQ(decode_cursor(encode_cursor("bo agent\x1fg-bo")),
            "bo agent\x1fg-bo");
  EXPECT_FALSE(decode_cursor("not a cursor!"));
  EXPECT_FALSE(decode_cursor("YWJj")); // "abc": no prefix
  EXPECT_FALSE(decode_cursor(""));
}

} // namespace
} // namespace presync::app
