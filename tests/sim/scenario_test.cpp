// Replays every story of ../shared/scenarios and tests/scenarios. The files
// are found by globbing when the test binary starts, so a new story is
// picked up without a code change.
#include "sim/runner.hpp"
#include "sim/scenario.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

namespace presync::sim {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> stories() {
  std::vector<std::string> out;
  for (auto dir : {std::string{PRESYNC_SHARED_DIR} + "/scenarios",
                   std::string{PRESYNC_TEST_DATA_DIR} + "/scenarios"}) {
    for (const auto& e : fs::directory_iterator(dir)) {
      if (e.path().extension() == ".yaml") {
        out.push_back(e.path().string());
      }
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

class Story : public ::testing::TestWithParam<std::string> {};

TEST_P(Story, ReplaysExactly) {
  std::vector<std::string> problems;

  auto s = load_scenario(GetParam(), problems);

  ASSERT_TRUE(s) << (problems.empty() ? "" : problems.front());
  auto r = run_scenario(*s);
  EXPECT_EQ(first_difference(*s, r), "");
}

std::string name_of(const ::testing::TestParamInfo<std::string>& info) {
  auto stem = fs::path(info.param).stem().string();
  auto dir = fs::path(info.param).parent_path().parent_path().filename();
  std::string name = (dir == "tests" ? "own_" : "shared_") + stem;
  std::replace_if(
    name.begin(), name.end(), [](char c) { return !std::isalnum(c); }, '_');
  return name;
}

INSTANTIATE_TEST_SUITE_P(Scenarios, Story, ::testing::ValuesIn(stories()),
                         name_of);

TEST(Stories, BothFoldersHoldStories) {
  auto all = stories();
  auto shared = std::count_if(all.begin(), all.end(), [](const auto& f) {
    return f.find("/shared/scenarios/") != std::string::npos;
  });

  EXPECT_GE(shared, 16);
  EXPECT_GE(static_cast<long>(all.size()) - shared, 15);
}

TEST(Runner, ReportsTheFirstDifference) {
  std::vector<std::string> problems;
  auto s = load_scenario(std::string{PRESYNC_SHARED_DIR} +
                           "/scenarios/on-contact-busy.yaml",
                         problems);
  ASSERT_TRUE(s);

  s->writes[0].at = std::chrono::seconds{16};
  auto r = run_scenario(*s);

  EXPECT_EQ(first_difference(*s, r),
            "expected write 16s teams bob Busy/InACall, got 15s teams bob "
            "Busy/InACall");
}

TEST(Runner, MissingJournalDecisionIsADifference) {
  std::vector<std::string> problems;
  auto s = load_scenario(std::string{PRESYNC_SHARED_DIR} +
                           "/scenarios/short-status-ignored.yaml",
                         problems);
  ASSERT_TRUE(s);

  s->journal[0].what = decision::echo;
  auto r = run_scenario(*s);

  EXPECT_EQ(first_difference(*s, r), "missing decision echo for alice at 10s");
}

} // namespace
} // namespace presync::sim
