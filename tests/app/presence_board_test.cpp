#include "app/presence_board.hpp"

#include <gtest/gtest.h>

namespace presync::app {
namespace {

presence busy() {
  return {"Busy", "InACall"};
}

TEST(PresenceBoard, AChangeIsAnEventASameValueIsNot) {
  presence_board board;
  board.seed("p1", live_state{presence{"Available", "Available"}, "", 1});

  board.on_teams("p1", busy());
  board.on_teams("p1", busy());
  board.on_connect("p1", "OnContact");

  EXPECT_EQ(board.latest(), 2u);
  auto s = board.state_of("p1");
  EXPECT_EQ(s.teams, busy());
  EXPECT_EQ(s.connect_state, "OnContact");
  EXPECT_EQ(category_of(s), presence_category::busy);
}

TEST(PresenceBoard, EventsAfterAnIdAreFramedForServerSentEvents) {
  presence_board board;
  board.on_teams("p1", busy());
  board.on_connect("p2", "Available");

  auto all = board.events_after(0);
  auto second = board.events_after(1);

  EXPECT_FALSE(all.gap);
  EXPECT_EQ(all.last, 2u);
  EXPECT_EQ(second.frames.rfind("id: " + board.event_id(2) +
                                  "\nevent: presence\ndata: {\"person\":\"p2\"",
                                0),
            0u)
    << second.frames;
  EXPECT_TRUE(second.frames.ends_with("}\n\n"));
  EXPECT_TRUE(board.events_after(2).frames.empty());
}

TEST(PresenceBoard, AReaderBehindTheRingGetsAGap) {
  presence_board board{2};
  board.on_connect("p", "Available");
  board.on_connect("p", "Lunch");
  board.on_connect("p", "Available");

  auto behind = board.events_after(0);
  auto in_ring = board.events_after(1);

  EXPECT_TRUE(behind.gap);
  EXPECT_EQ(behind.last, 3u);
  EXPECT_FALSE(in_ring.gap);
  EXPECT_EQ(in_ring.last, 3u);
  EXPECT_EQ(board.evicted(), 1u);
}

TEST(PresenceBoard, OnlyItsOwnEventIdsParse) {
  presence_board board;
  presence_board other;
  board.on_connect("p", "Available");

  EXPECT_EQ(board.parse_event_id(board.event_id(1)), 1u);
  EXPECT_EQ(board.parse_event_id(board.event_id(0)), 0u);
  EXPECT_FALSE(board.parse_event_id(other.event_id(1)));
  EXPECT_FALSE(board.parse_event_id(board.event_id(5))); // not issued yet
  EXPECT_FALSE(board.parse_event_id("nonsense"));
  EXPECT_FALSE(board.parse_event_id(board.event_id(1) + "x"));
}

TEST(PresenceBoard, TheListenerHearsEveryEvent) {
  presence_board board;
  int heard = 0;
  board.set_listener([&] { ++heard; });

  board.on_connect("p", "Available");
  board.on_directory(2, 10);
  board.set_listener({});
  board.on_connect("p", "Lunch");

  EXPECT_EQ(heard, 2);
}

TEST(PresenceBoard, PeopleWhoLeftAreForgotten) {
  presence_board board;
  board.on_connect("stays", "Available");
  board.on_connect("leaves", "Available");

  board.retain([](const std::string& id) { return id == "stays"; });

  EXPECT_EQ(board.state_of("stays").connect_state, "Available");
  EXPECT_EQ(board.state_of("leaves").connect_state, "");
}

TEST(PresenceCategory, TeamsWinsThenConnectThenUnknown) {
  live_state teams{presence{"DoNotDisturb", "Presenting"}, "Available", 0};
  live_state unknown_teams{presence{"PresenceUnknown", "PresenceUnknown"},
                           "AfterContactWork", 0};
  live_state lunch{std::nullopt, "Lunch", 0};
  live_state out{std::nullopt, "LoggedOut", 0};

  EXPECT_EQ(category_of(teams), presence_category::dnd);
  EXPECT_EQ(category_of(unknown_teams), presence_category::busy);
  EXPECT_EQ(category_of(lunch), presence_category::away);
  EXPECT_EQ(category_of(out), presence_category::offline);
  EXPECT_EQ(category_of(live_state{}), presence_category::unknown);
  EXPECT_EQ(parse_presence_category("dnd"), presence_category::dnd);
  EXPECT_FALSE(parse_presence_category("happy"));
}

TEST(PresenceBoard, TimesAreUtcIso8601) {
  EXPECT_EQ(iso8601_ms(1741100526884), "2025-03-04T15:02:06.884Z");
}

} // namespace
} // namespace presync::app
