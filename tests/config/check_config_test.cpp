#include "config/check_config.hpp"

#include "test_env.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <sstream>

namespace presync::config {
namespace {

namespace fs = std::filesystem;
using testing::fake_env;

const std::string example_file =
  PRESYNC_TEST_DATA_DIR "/../config/examples/presync.yaml";
const fs::path broken_dir = PRESYNC_TEST_DATA_DIR "/config/broken";

struct run_result {
  int code = 0;
  std::string out;
  std::string err;
};

run_result run(std::vector<std::string> args, const env_lookup& env) {
  std::ostringstream out;
  std::ostringstream err;
  int code = check_config(args, out, err, env);
  return {code, out.str(), err.str()};
}

std::string replace_all(std::string text, const std::string& from,
                        const std::string& to) {
  for (auto at = text.find(from); at != std::string::npos;
       at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

TEST(CheckConfig, ExamplePassesWithItsVariablesSet) {
  auto r = run({example_file}, fake_env());

  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, example_file + ": OK (1 tenant)\n");
  EXPECT_EQ(r.err, "");
}

TEST(CheckConfig, ExampleFailsWithoutThem) {
  auto r = run({example_file},
               [](std::string_view) { return std::optional<std::string>{}; });

  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("environment variable PRESYNC_GRAPH_SECRET is not "
                       "set"),
            std::string::npos);
  EXPECT_NE(r.out.find(example_file + ": 4 errors, 0 warnings\n"),
            std::string::npos)
    << r.out;
}

// Every file in config/examples/ is a config an admin may copy: each must
// pass with the variables the examples name (the AWS ones for every
// credential source). New examples are picked up without a code change.
TEST(CheckConfig, EveryExamplePassesWithItsVariablesSet) {
  const fs::path examples_dir = fs::path{example_file}.parent_path();
  auto env = fake_env({
    {"AWS_ROLE_ARN", "arn:aws:iam::111122223333:role/presync"},
    {"AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/presync/token"},
    {"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/presync"},
  });

  std::vector<fs::path> files;
  for (const auto& f : fs::directory_iterator(examples_dir)) {
    if (f.path().extension() == ".yaml") {
      files.push_back(f.path());
    }
  }
  std::sort(files.begin(), files.end());
  ASSERT_GE(files.size(), 2u);

  for (const auto& file : files) {
    SCOPED_TRACE(file.filename().string());
    auto r = run({file.string()}, env);

    EXPECT_EQ(r.code, 0) << r.out;
    EXPECT_EQ(r.out.rfind(file.string() + ": OK (", 0), 0u) << r.out;
    EXPECT_EQ(r.out.find("warning"), std::string::npos) << r.out;
    EXPECT_EQ(r.err, "");
  }
}

TEST(CheckConfig, HelpPrintsUsageAndSucceeds) {
  auto r = run({"--help"}, fake_env());

  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out.rfind("usage: presync check-config FILE", 0), 0u);
}

TEST(CheckConfig, UsageErrorsExitTwo) {
  auto none = run({}, fake_env());
  auto two = run({"a.yaml", "b.yaml"}, fake_env());
  auto option = run({"--verbose"}, fake_env());

  EXPECT_EQ(none.code, 2);
  EXPECT_EQ(two.code, 2);
  EXPECT_EQ(option.code, 2);
  EXPECT_EQ(none.out, "");
  EXPECT_EQ(none.err.rfind("usage: presync check-config FILE", 0), 0u);
}

TEST(CheckConfig, UnreadableFileExitsTwo) {
  auto missing = run({(broken_dir / "no-such-file.yaml").string()}, fake_env());
  auto folder = run({broken_dir.string()}, fake_env());

  EXPECT_EQ(missing.code, 2);
  EXPECT_EQ(missing.err, (broken_dir / "no-such-file.yaml").string() +
                           ": cannot read the file\n");
  EXPECT_EQ(folder.code, 2);
}

// Each broken/NAME.yaml comes with NAME.expected: the exact output of
// check-config, with file names relative to the folder. New files are
// picked up without a code change.
TEST(BrokenConfigs, EachPrintsExactlyItsExpectedOutput) {
  std::vector<fs::path> files;
  for (const auto& f : fs::directory_iterator(broken_dir)) {
    if (f.path().extension() == ".yaml") {
      files.push_back(f.path());
    }
  }
  std::sort(files.begin(), files.end());
  ASSERT_GE(files.size(), 10u);

  for (const auto& file : files) {
    SCOPED_TRACE(file.filename().string());
    auto expected_file = fs::path{file}.replace_extension(".expected");
    auto expected = read_text_file(expected_file.string());
    ASSERT_TRUE(expected) << "missing " << expected_file;

    auto r = run({file.string()}, fake_env());
    auto out = replace_all(r.out, broken_dir.string() + "/", "");

    EXPECT_EQ(out, *expected);
    bool has_error = out.find(": error: ") != std::string::npos;
    EXPECT_EQ(r.code, has_error ? 1 : 0);
    EXPECT_EQ(r.err, "");
    for (const auto& [name, value] : testing::fake_variables()) {
      EXPECT_EQ(r.out.find(value), std::string::npos) << name;
    }
  }
}

} // namespace
} // namespace presync::config
