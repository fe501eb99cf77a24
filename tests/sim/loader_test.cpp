// Broken stories: each tests/sim/broken/NAME.yaml must fail to load with
// exactly the lines in NAME.expected.
#include "sim/scenario.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace presync::sim {
namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& p) {
  std::ifstream in{p};
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

TEST(ScenarioLoader, BrokenStoriesNameWhatIsWrongAndWhere) {
  auto dir = fs::path{PRESYNC_TEST_DATA_DIR} / "sim" / "broken";
  int checked = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() != ".yaml") {
      continue;
    }
    std::vector<std::string> problems;

    auto s = load_scenario(e.path().string(), problems);

    EXPECT_FALSE(s) << e.path();
    std::string got;
    for (const auto& p : problems) {
      got += p + "\n";
    }
    auto expected = e.path();
    expected.replace_extension(".expected");
    EXPECT_EQ(got, read_file(expected)) << e.path();
    ++checked;
  }
  EXPECT_GE(checked, 5);
}

TEST(ScenarioLoader, MissingFileIsReported) {
  std::vector<std::string> problems;

  auto s = load_scenario("/nonexistent/story.yaml", problems);

  EXPECT_FALSE(s);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0], "/nonexistent/story.yaml: cannot be read");
}

TEST(ScenarioLoader, DefaultsFollowTheReadme) {
  std::vector<std::string> problems;
  auto s = load_scenario(std::string{PRESYNC_SHARED_DIR} +
                           "/scenarios/first-start-publishes.yaml",
                         problems);

  ASSERT_TRUE(s);
  EXPECT_TRUE(s->fresh_start);
  EXPECT_EQ(s->end(), std::chrono::minutes{1});
  ASSERT_EQ(s->people.size(), 3u);
  EXPECT_FALSE(s->people[2].connect);
  EXPECT_EQ(s->people[2].initial_connect, "Offline");
  EXPECT_TRUE(s->only_these);
  EXPECT_FALSE(s->refreshes);
}

} // namespace
} // namespace presync::sim
