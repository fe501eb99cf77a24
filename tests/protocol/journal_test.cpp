#include "protocol/journal.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <iterator>
#include <string>

namespace presync {
namespace {

TEST(Journal, DropsTheOldestPastCapacity) {
  journal j{2};

  for (int i = 0; i < 3; ++i) {
    j.add({at(duration{i}), decision::held, direction::connect_to_teams, ""});
  }

  ASSERT_EQ(j.entries().size(), 2u);
  EXPECT_EQ(j.entries().front().at, at(duration{1}));
}

TEST(Journal, KeepsEveryFieldOfEachEntry) {
  journal j{3};

  j.add({at(duration{7}), decision::held, direction::connect_to_teams,
         "Lunch -> Away/Away until 22ms"});
  j.add({at(duration{-5}), decision::echo, direction::teams_to_connect, ""});

  auto e = j.entries();
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(j.size(), 2u);
  EXPECT_EQ(e[0].at, at(duration{7}));
  EXPECT_EQ(e[0].what, decision::held);
  EXPECT_EQ(e[0].dir, direction::connect_to_teams);
  EXPECT_EQ(e[0].detail, "Lunch -> Away/Away until 22ms");
  EXPECT_EQ(e[1].at, at(duration{-5}));
  EXPECT_EQ(e[1].what, decision::echo);
  EXPECT_EQ(e[1].dir, direction::teams_to_connect);
  EXPECT_EQ(e[1].detail, "");
}

TEST(Journal, KeepsTheNewestInOrderOverManyRounds) {
  journal j{50};

  for (int i = 0; i < 1000; ++i) {
    j.add({at(duration{i}), decision::superseded, direction::connect_to_teams,
           "entry " + std::to_string(i) +
             std::string(static_cast<size_t>(i % 40), 'x')});
  }

  auto e = j.entries();
  ASSERT_EQ(e.size(), 50u);
  for (size_t k = 0; k < e.size(); ++k) {
    auto i = 950 + static_cast<int>(k);
    EXPECT_EQ(e[k].at, at(duration{i}));
    EXPECT_EQ(e[k].detail, "entry " + std::to_string(i) +
                             std::string(static_cast<size_t>(i % 40), 'x'));
  }
}

TEST(Journal, ShrinkingCapacityDropsTheOldest) {
  journal j{5};
  for (int i = 0; i < 5; ++i) {
    j.add({at(duration{i}), decision::held, direction::connect_to_teams, "d"});
  }

  j.set_capacity(2);

  auto e = j.entries();
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e.front().at, at(duration{3}));
  EXPECT_EQ(e.back().at, at(duration{4}));

  j.set_capacity(0);
  j.add({at(duration{9}), decision::held, direction::connect_to_teams, "d"});
  EXPECT_EQ(j.size(), 0u);
  EXPECT_EQ(j.packed_bytes(), 0u);
}

TEST(Journal, CutsADetailLongerThanItsLengthField) {
  journal j{2};

  j.add({at(duration{1}), decision::failed, direction::teams_to_connect,
         std::string(70'000, 'y')});

  auto e = j.entries();
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].detail, std::string(65'535, 'y'));
}

TEST(Journal, TheLastEntryOutlivesTheList) {
  journal j{2};
  j.add({at(duration{1}), decision::held, direction::connect_to_teams,
         "a detail long enough to live on the heap"});

  const auto& last = j.entries().back();

  EXPECT_EQ(last.detail, "a detail long enough to live on the heap");
}

TEST(Journal, ACopyIsIndependent) {
  journal a{3};
  a.add({at(duration{1}), decision::held, direction::connect_to_teams, "one"});

  journal b = a;
  b.add({at(duration{2}), decision::held, direction::connect_to_teams, "two"});

  EXPECT_EQ(a.entries().size(), 1u);
  ASSERT_EQ(b.entries().size(), 2u);
  EXPECT_EQ(b.entries().back().detail, "two");
}

TEST(Journal, KeepsEveryByteOfADetail) {
  std::string all;
  for (int c = 0; c < 256; ++c) {
    all += static_cast<char>(c);
  }
  const std::string details[] = {
    all,
    "Pause caf\xc3\xa9 -> Away/Away until 15s",
    "hold for Busy/InACall: Connect went back to what Teams shows",
    "Teams Teams  -> -> ms\x01\x80\xff",
    "Available/Availabl",
  };
  journal j{10};

  for (const auto& d : details) {
    j.add({at(duration{3}), decision::held, direction::teams_to_connect, d});
  }

  auto e = j.entries();
  ASSERT_EQ(e.size(), std::size(details));
  for (size_t i = 0; i < e.size(); ++i) {
    EXPECT_EQ(e[i].detail, details[i]);
  }
}

TEST(Journal, KeepsInstantsFarApartAndOutOfOrder) {
  const int64_t instants[] = {INT64_MAX, INT64_MIN, 0,         -1,
                              15'000,    14'999,    INT64_MIN, INT64_MAX};
  journal j{4};

  for (auto ms : instants) {
    j.add({at(duration{ms}), decision::echo, direction::connect_to_teams, ""});
  }

  auto e = j.entries();
  ASSERT_EQ(e.size(), 4u);
  for (size_t i = 0; i < e.size(); ++i) {
    EXPECT_EQ(e[i].at, at(duration{instants[4 + i]}));
  }
}

TEST(Journal, PacksTypicalEntriesIntoAFewBytesEach) {
  journal j{50};

  for (int i = 0; i < 50; ++i) {
    auto now = at(std::chrono::seconds{1'000'000 + 20 * i});
    j.add({now, decision::held, direction::connect_to_teams,
           "Lunch -> Away/Away until 1000015s"});
    j.add({now, decision::superseded, direction::connect_to_teams,
           "hold for Away/Away: Connect went back to what Teams shows"});
    j.add({now, decision::unchanged, direction::connect_to_teams,
           "session already shows Available/Available"});
  }

  EXPECT_EQ(j.size(), 50u);
  EXPECT_LT(j.packed_bytes(), 50u * 16);
  EXPECT_EQ(j.entries().back().detail,
            "session already shows Available/Available");
}

TEST(Journal, DecisionNamesRoundTrip) {
  for (int i = 0; i < decision_count; ++i) {
    auto d = static_cast<decision>(i);
    EXPECT_EQ(parse_decision(to_string(d)), d);
  }
  EXPECT_FALSE(parse_decision("maybe"));
}

} // namespace
} // namespace presync
