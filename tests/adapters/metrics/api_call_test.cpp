#include "adapters/metrics/api_call.hpp"

#include <gtest/gtest.h>

#include <string>

namespace presync::metrics {
namespace {

std::string named(std::string_view method, std::string_view url,
                  std::optional<std::string_view> target = std::nullopt,
                  std::string_view body = "") {
  auto c = classify_api_call(method, url, target, body);
  return std::string{c.api} + "/" + std::string{c.operation};
}

TEST(ApiCall, GraphCallsAreNamedWithoutTheirIds) {
  const std::string g = "https://graph.microsoft.com/v1.0";

  EXPECT_EQ(named("POST", g + "/communications/getPresencesByUserId"),
            "graph/get_presences");
  EXPECT_EQ(named("POST", g + "/$batch"), "graph/batch");
  EXPECT_EQ(named("POST", g + "/users/8b1f-42/presence/setPresence"),
            "graph/set_presence");
  EXPECT_EQ(named("POST", g + "/users/8b1f-42/presence/clearPresence"),
            "graph/clear_presence");
  EXPECT_EQ(named("GET", g + "/users/8b1f-42/presence"), "graph/get_presence");
  EXPECT_EQ(named("GET", g + "/users/delta?$select=id&$deltatoken=abc"),
            "graph/users_delta");
  EXPECT_EQ(named("GET", g + "/users?$select=id"), "graph/list_users");
  EXPECT_EQ(named("GET", g + "/admin/teams/userConfigurations/8b1f-42"),
            "graph/teams_user_configuration");
  EXPECT_EQ(named("GET", g + "/me/drive"), "graph/other");
}

TEST(ApiCall, TokenEndpointIsEntra) {
  EXPECT_EQ(named("POST", "http://127.0.0.1:4000/tenant-1/oauth2/v2.0/token"),
            "entra/token");
}

TEST(ApiCall, ConnectRestPathsAreNamedByOperation) {
  const std::string c = "https://connect.us-east-1.amazonaws.com";

  EXPECT_EQ(named("GET", c + "/users-summary/inst-1"), "connect/list_users");
  EXPECT_EQ(named("GET", c + "/users/inst-1/user-9"), "connect/describe_user");
  EXPECT_EQ(named("PUT", c + "/users/inst-1/user-9/status"),
            "connect/put_user_status");
  EXPECT_EQ(named("POST", c + "/metrics/userdata/inst-1"),
            "connect/get_current_user_data");
  EXPECT_EQ(named("GET", c + "/agent-status/inst-1?maxResults=100"),
            "connect/list_agent_statuses");
  EXPECT_EQ(named("PUT", c + "/contact/outbound-voice"),
            "connect/start_outbound_voice_contact");
}

TEST(ApiCall, KinesisIsNamedByItsTargetHeader) {
  const std::string k = "https://kinesis.us-east-1.amazonaws.com/";

  EXPECT_EQ(named("POST", k, "Kinesis_20131202.GetRecords"),
            "kinesis/get_records");
  EXPECT_EQ(named("POST", k, "Kinesis_20131202.ListShards"),
            "kinesis/list_shards");
  EXPECT_EQ(named("POST", k, "Kinesis_20131202.MergeShards"), "kinesis/other");
}

TEST(ApiCall, StsAndContainerCredentialsAreNamed) {
  EXPECT_EQ(named("POST", "https://sts.us-east-1.amazonaws.com/", std::nullopt,
                  "Action=AssumeRoleWithWebIdentity&Version=2011-06-15"),
            "sts/assume_role_with_web_identity");
  EXPECT_EQ(named("GET", "http://169.254.170.2/v2/credentials/abc"),
            "aws_credentials/container_credentials");
  EXPECT_EQ(named("GET", "http://127.0.0.1:9/elsewhere"), "other/other");
}

TEST(ApiCall, StatusClassesAreBounded) {
  EXPECT_EQ(status_class(200), "2xx");
  EXPECT_EQ(status_class(204), "2xx");
  EXPECT_EQ(status_class(429), "4xx");
  EXPECT_EQ(status_class(503), "5xx");
  EXPECT_EQ(status_class(std::nullopt), "error");
  EXPECT_EQ(status_class(999), "error");
}

TEST(ApiCall, ThrottlingAnswersAreRecognised) {
  EXPECT_TRUE(is_throttling_answer(429, false, ""));
  EXPECT_TRUE(is_throttling_answer(503, true, ""));
  EXPECT_FALSE(is_throttling_answer(503, false, ""));
  EXPECT_TRUE(is_throttling_answer(
    400, false,
    R"({"__type":"ProvisionedThroughputExceededException","message":"x"})"));
  EXPECT_FALSE(is_throttling_answer(
    400, false, R"({"__type":"ExpiredIteratorException"})"));
  EXPECT_FALSE(is_throttling_answer(200, false, ""));
}

} // namespace
} // namespace presync::metrics
