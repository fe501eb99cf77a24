#include "config/did_mapping.hpp"

#include "config/config.hpp"
#include "test_env.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace presync::config {
namespace {

TEST(DidMapping, ReadsNumbersExtensionsAndAgents) {
  auto m = parse_did_mapping("# front desk\n"
                             "\n"
                             "+44 20 7946 0100, jane@example.com\n"
                             "+1 (425) 555-0300,12,agent0003@example.com\n");

  EXPECT_TRUE(m.problems.empty());
  ASSERT_EQ(m.entries.size(), 2u);
  EXPECT_EQ(m.entries[0].number, "+442079460100");
  EXPECT_EQ(m.entries[0].extension, "");
  EXPECT_EQ(m.entries[0].agent, "jane@example.com");
  EXPECT_EQ(m.entries[0].line, 3u);
  EXPECT_EQ(m.entries[1].number, "+14255550300");
  EXPECT_EQ(m.entries[1].extension, "12");
  EXPECT_EQ(m.entries[1].agent, "agent0003@example.com");
}

TEST(DidMapping, NamesEveryBadLineWithoutTheNumber) {
  auto m = parse_did_mapping("02079460100,jane\n"
                             "+44 20 7946 0100\n"
                             "+44 20 7946 0100,x1,jane\n"
                             "+44 20 7946 0100,jane\n"
                             "+44 20 7946 0100,sam\n"
                             "+44 20 79A6 0100,sam\n"
                             "+4420,sam\n"
                             "+44 20 7946 0101,,\n");

  ASSERT_EQ(m.problems.size(), 7u);
  EXPECT_EQ(m.problems[0], "line 1: expected a number in international form "
                           "starting with +");
  EXPECT_EQ(m.problems[1], "line 2: expected 'number,agent' or "
                           "'number,extension,agent'");
  EXPECT_EQ(m.problems[2], "line 3: the extension must be 1 to 10 digits");
  EXPECT_EQ(m.problems[3], "line 5: this number is listed twice");
  EXPECT_EQ(m.problems[4],
            "line 6: the number may hold only digits, spaces, - . ( and )");
  EXPECT_EQ(m.problems[5],
            "line 7: expected 7 to 15 digits after +, not starting with 0");
  EXPECT_EQ(m.problems[6], "line 8: the agent (Connect user id or username) "
                           "is missing");
  ASSERT_EQ(m.entries.size(), 1u);
  for (const auto& p : m.problems) {
    EXPECT_EQ(p.find("7946"), std::string::npos) << p;
  }
}

TEST(DidMapping, CheckConfigReportsTheFilesBadLinesAtTheKey) {
  auto file = std::string{::testing::TempDir()} + "did-mapping-bad.csv";
  std::ofstream{file} << "+44 20 7946 0100,jane\n5550100,sam\n";
  std::string text = R"(
tenants:
  - id: contoso
    graph:
      tenant_id: contoso.onmicrosoft.com
      client_id: 00000000-0000-0000-0000-0000000000b1
      client_secret_env: PRESYNC_GRAPH_SECRET
    connect:
      instance_id: 00000000-0000-0000-0000-0000000000c1
      region: eu-west-2
      stream_name: agent-events
      did_mapping_file: )" +
                     file + "\n";
  diagnostics diags{"presync.yaml"};

  auto config = load_config_text(text, diags, testing::fake_env());

  EXPECT_FALSE(config.has_value());
  auto lines = diags.format_all();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("tenants[0].connect.did_mapping_file"),
            std::string::npos)
    << lines[0];
  EXPECT_NE(lines[0].find("line 2: expected a number in international form"),
            std::string::npos)
    << lines[0];
  std::remove(file.c_str());
}

TEST(DidMapping, AGoodFileIsKeptInTheConfig) {
  auto file = std::string{::testing::TempDir()} + "did-mapping-good.csv";
  std::ofstream{file} << "+44 20 7946 0100,jane\n";
  std::string text = R"(
tenants:
  - id: contoso
    graph:
      tenant_id: contoso.onmicrosoft.com
      client_id: 00000000-0000-0000-0000-0000000000b1
      client_secret_env: PRESYNC_GRAPH_SECRET
    connect:
      instance_id: 00000000-0000-0000-0000-0000000000c1
      region: eu-west-2
      stream_name: agent-events
      did_mapping_file: )" +
                     file + "\n";
  diagnostics diags{"presync.yaml"};

  auto config = load_config_text(text, diags, testing::fake_env());

  ASSERT_TRUE(config.has_value())
    << ::testing::PrintToString(diags.format_all());
  EXPECT_EQ(config->tenants[0].connect.did_mapping_file, file);
  std::remove(file.c_str());
}

} // namespace
} // namespace presync::config
