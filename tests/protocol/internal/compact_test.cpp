#include "protocol/internal/compact.hpp"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace presync::internal {
namespace {

TEST(CompactName, EqualNamesShareOnePooledCopy) {
  name a{std::string{"AfterContactWork"}};
  name b{"AfterContactWork"};

  EXPECT_EQ(&a.str(), &b.str());
  EXPECT_EQ(a, b);
  EXPECT_EQ(a, std::string{"AfterContactWork"});
}

TEST(CompactName, EmptyByDefaultAndFromEmptyText) {
  name a;
  name b{""};

  EXPECT_TRUE(a.empty());
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.str(), "");
}

TEST(CompactName, ThreadsInterningTheSameNamesShareTheirCopies) {
  std::vector<std::vector<const std::string*>> seen(4);
  std::vector<std::thread> threads;
  for (auto& out : seen) {
    threads.emplace_back([&out] {
      for (int i = 0; i < 500; ++i) {
        name n{"Status" + std::to_string(i % 50)};
        out.push_back(&n.str());
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }

  for (const auto& out : seen) {
    EXPECT_EQ(out, seen.front());
  }
}

TEST(CompactName, ALongNameIsOwnedAndCopiedByValue) {
  std::string text(pooled_size_max + 1, 'x');
  name a{text};

  name b = a;
  name c = std::move(a);

  EXPECT_EQ(b.str(), text);
  EXPECT_EQ(c.str(), text);
  EXPECT_NE(&b.str(), &c.str());
  EXPECT_EQ(b, c);
}

TEST(CompactName, JoinsWithTextLikeAString) {
  name n{"Lunch"};

  EXPECT_EQ("agent has " + n, "agent has Lunch");
  EXPECT_EQ(std::string{"agent has "} + n, "agent has Lunch");
  EXPECT_EQ(n + " now", "Lunch now");
  EXPECT_EQ(n + std::string{" now"}, "Lunch now");
}

TEST(CompactPresence, ReadsAsThePresenceItWasMadeOf) {
  presence p{"Busy", "InACall"};

  compact_presence c{p};
  compact_presence d = c;

  EXPECT_EQ(c.get(), p);
  EXPECT_EQ(c.key(), "Busy/InACall");
  EXPECT_EQ(c, d);
  EXPECT_FALSE((c == compact_presence{presence{"Busy", "Busy"}}));
}

TEST(CompactTarget, KeepsClearApartFromEveryPresence) {
  compact_target clear{teams_target::clear()};
  compact_target busy{teams_target::of({"Busy", "InACall"})};
  compact_target odd{teams_target::of({"", ""})};

  EXPECT_TRUE(clear.is_clear());
  EXPECT_EQ(clear.describe(), "clear");
  EXPECT_EQ(busy.describe(), "Busy/InACall");
  EXPECT_FALSE(clear == busy);
  EXPECT_FALSE(clear == odd);
  EXPECT_TRUE(clear == teams_target::clear());
  EXPECT_TRUE(busy == teams_target::of({"Busy", "InACall"}));
  EXPECT_FALSE(busy == teams_target::of({"busy", "InACall"}));
  EXPECT_EQ(static_cast<teams_target>(busy),
            teams_target::of({"Busy", "InACall"}));
}

TEST(CompactTarget, AnOwnedPresenceComparesByValue) {
  std::string long_activity(pooled_size_max + 1, 'a');
  teams_target t = teams_target::of({"Busy", long_activity});

  compact_target a{t};
  compact_target b{t};

  EXPECT_TRUE(a == b);
  EXPECT_TRUE(a == t);
  EXPECT_EQ(a.value()->activity, long_activity);
}

TEST(OptionalInstant, ReadsLikeAnOptionalInstant) {
  optional_instant none;
  optional_instant zero{at(duration{0})};
  optional_instant past{at(duration{-5})};

  EXPECT_FALSE(none);
  EXPECT_EQ(static_cast<std::optional<mono_time>>(none), std::nullopt);
  ASSERT_TRUE(zero);
  EXPECT_EQ(*zero, at(duration{0}));
  EXPECT_EQ(static_cast<std::optional<mono_time>>(past), at(duration{-5}));
  past.reset();
  EXPECT_FALSE(past.has_value());
}

TEST(BoxedOptional, CopiesItsValue) {
  boxed_optional<std::string> a{std::string{"one"}};

  boxed_optional<std::string> b = a;
  *b = "two";

  EXPECT_EQ(*a, "one");
  EXPECT_EQ(*b, "two");
  a.reset();
  EXPECT_FALSE(a);
  EXPECT_FALSE(a.to_optional());
  EXPECT_EQ(b.to_optional(), std::optional<std::string>{"two"});
}

} // namespace
} // namespace presync::internal
