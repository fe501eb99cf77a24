#include "config/diagnostics.hpp"

#include <gtest/gtest.h>

#include <array>

namespace presync::config {
namespace {

TEST(Diagnostics, FormatsFileLinePathAndMessage) {
  diagnostics d{"presync.yaml"};

  d.add_error("tenants[0].sync.min_hold", "bad", 12);
  d.add_warning("tenants[0].sync", "loops", 40);

  auto lines = d.format_all();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "presync.yaml:12: error: tenants[0].sync.min_hold: bad");
  EXPECT_EQ(lines[1], "presync.yaml:40: warning: tenants[0].sync: loops");
}

TEST(Diagnostics, LeavesOutUnknownParts) {
  diagnostics named{"a.yaml"};
  diagnostics unnamed;

  named.add_error("actors.throughput", "bad");
  named.add_error("", "YAML syntax error: x", 3);
  unnamed.add_error("actors.throughput", "bad");
  unnamed.add_error("log.level", "bad", 7);

  EXPECT_EQ(named.format(named.items()[0]),
            "a.yaml: error: actors.throughput: bad");
  EXPECT_EQ(named.format(named.items()[1]),
            "a.yaml:3: error: YAML syntax error: x");
  EXPECT_EQ(unnamed.format(unnamed.items()[0]),
            "error: actors.throughput: bad");
  EXPECT_EQ(unnamed.format(unnamed.items()[1]),
            "line 7: error: log.level: bad");
}

TEST(Diagnostics, CountsErrorsAndWarningsApart) {
  diagnostics d;
  EXPECT_FALSE(d.has_errors());

  d.add_warning("a", "w");
  EXPECT_FALSE(d.has_errors());
  d.add_error("b", "e");
  d.add_error("c", "e");

  EXPECT_TRUE(d.has_errors());
  EXPECT_EQ(d.error_count(), 2u);
  EXPECT_EQ(d.warning_count(), 1u);
  EXPECT_EQ(d.items()[0].level, diagnostic::severity::warning);
  EXPECT_EQ(d.items()[2].path, "c");
}

TEST(Diagnostics, SortByLineKeepsTheOrderWithinALine) {
  diagnostics d;
  d.add_error("late", "x", 9);
  d.add_error("nowhere", "x");
  d.add_error("early-a", "x", 2);
  d.add_warning("early-b", "x", 2);

  d.sort_by_line();

  ASSERT_EQ(d.items().size(), 4u);
  EXPECT_EQ(d.items()[0].path, "early-a");
  EXPECT_EQ(d.items()[1].path, "early-b");
  EXPECT_EQ(d.items()[2].path, "late");
  EXPECT_EQ(d.items()[3].path, "nowhere");
}

TEST(EditDistance, CountsASwapOfNeighboursAsOneEdit) {
  EXPECT_EQ(edit_distance("min_hlod", "min_hold"), 1u);
  EXPECT_EQ(edit_distance("min_hold", "min_hold"), 0u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("MODE", "mode"), 0u);
}

TEST(DidYouMean, SuggestsTheClosestLikelyTypo) {
  constexpr std::array<std::string_view, 3> keys = {"min_hold", "mode",
                                                    "echo_window"};

  EXPECT_EQ(did_you_mean("min_hlod", keys), "; did you mean min_hold?");
  EXPECT_EQ(did_you_mean("mod", keys), "; did you mean mode?");
  EXPECT_EQ(did_you_mean("Mode", keys), "; did you mean mode?");
  EXPECT_EQ(did_you_mean("journal_size", keys), "");
  EXPECT_EQ(did_you_mean("mode", keys), "");
}

} // namespace
} // namespace presync::config
