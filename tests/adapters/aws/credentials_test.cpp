#include "adapters/aws/credentials.hpp"

#include <gtest/gtest.h>

#include <map>
#include <sstream>

using namespace presync::aws;
using presync::sync_error;
using namespace std::chrono_literals;

namespace {

// A fake environment, file system and transport; the transport records
// every call and answers with the queued responses in order.
class CredentialsChain : public ::testing::Test {
 protected:
  std::map<std::string, std::string> env_;
  std::map<std::string, std::string> files_;
  std::vector<simple_request> calls_;
  std::vector<presync::expected<simple_response>> answers_;
  credentials_options options_;

  credentials_chain make_chain() {
    return credentials_chain{
      [this](std::string_view name) -> std::optional<std::string> {
        auto it = env_.find(std::string{name});
        if (it == env_.end()) {
          return std::nullopt;
        }
        return it->second;
      },
      [this](const std::string& path) -> presync::expected<std::string> {
        auto it = files_.find(path);
        if (it == files_.end()) {
          return presync::make_error(sync_error::config_invalid, "no file");
        }
        return it->second;
      },
      [this](const simple_request& r) -> presync::expected<simple_response> {
        calls_.push_back(r);
        if (answers_.empty()) {
          return presync::make_error(sync_error::connection_failed,
                                     "no answer queued");
        }
        auto a = answers_.front();
        answers_.erase(answers_.begin());
        return a;
      },
      options_};
  }

  void answer(int status, std::string body) {
    simple_response r;
    r.status = status;
    r.body = std::move(body);
    answers_.emplace_back(std::move(r));
  }

  void use_web_identity() {
    env_["AWS_WEB_IDENTITY_TOKEN_FILE"] = "/var/run/token";
    env_["AWS_ROLE_ARN"] = "arn:aws:iam::111122223333:role/presync";
    files_["/var/run/token"] = "eyJhbGciOi.token+value/x=\n";
  }

  static std::string sts_xml(std::string expiration) {
    return R"(<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <Credentials>
      <AccessKeyId>ASIAEXAMPLE</AccessKeyId>
      <SecretAccessKey>secret&amp;key</SecretAccessKey>
      <SessionToken>session-token</SessionToken>
      <Expiration>)" +
           expiration + R"(</Expiration>
    </Credentials>
  </AssumeRoleWithWebIdentityResult>
</AssumeRoleWithWebIdentityResponse>)";
  }
};

std::chrono::sys_seconds at(std::string_view iso) {
  return parse_iso8601(iso).value();
}

} // namespace

TEST_F(CredentialsChain, ReadsStaticKeysFromTheEnvironment) {
  env_["AWS_ACCESS_KEY_ID"] = "AKIDEXAMPLE";
  env_["AWS_SECRET_ACCESS_KEY"] = "secret";
  env_["AWS_SESSION_TOKEN"] = "token";
  env_["AWS_ROLE_ARN"] = "ignored: the environment comes first";

  auto c = make_chain().get(at("2025-03-04T15:00:00Z"));

  ASSERT_TRUE(c) << c.err().describe();
  EXPECT_EQ(c->source, "environment");
  EXPECT_EQ(c->creds.access_key_id, "AKIDEXAMPLE");
  EXPECT_EQ(c->creds.secret_access_key.reveal(), "secret");
  EXPECT_EQ(c->creds.session_token.reveal(), "token");
  EXPECT_FALSE(c->expiration);
  EXPECT_TRUE(calls_.empty());
}

TEST_F(CredentialsChain, RejectsHalfAStaticKeyPair) {
  env_["AWS_ACCESS_KEY_ID"] = "AKIDEXAMPLE";

  auto c = make_chain().get(at("2025-03-04T15:00:00Z"));

  ASSERT_FALSE(c);
  EXPECT_EQ(c.err().code, sync_error::config_invalid);
}

TEST_F(CredentialsChain, NeverUsesTheNetworkWithoutAVariableThatAsksForIt) {
  auto c = make_chain().get(at("2025-03-04T15:00:00Z"));

  ASSERT_FALSE(c);
  EXPECT_EQ(c.err().code, sync_error::config_invalid);
  EXPECT_NE(c.err().context.find("instance metadata is never used"),
            std::string::npos);
  EXPECT_TRUE(calls_.empty());
}

TEST_F(CredentialsChain, AssumesTheRoleWithTheWebIdentityToken) {
  use_web_identity();
  env_["AWS_ROLE_SESSION_NAME"] = "presync-test";
  env_["AWS_REGION"] = "eu-west-2";
  answer(200, sts_xml("2025-03-04T16:00:00Z"));

  auto c = make_chain().get(at("2025-03-04T15:00:00Z"));

  ASSERT_TRUE(c) << c.err().describe();
  ASSERT_EQ(calls_.size(), 1u);
  EXPECT_EQ(calls_[0].method, "POST");
  EXPECT_EQ(calls_[0].url, "https://sts.eu-west-2.amazonaws.com/");
  EXPECT_EQ(find_header(calls_[0].headers, "content-type"),
            "application/x-www-form-urlencoded; charset=utf-8");
  EXPECT_EQ(calls_[0].body,
            "Action=AssumeRoleWithWebIdentity&Version=2011-06-15"
            "&RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fpresync"
            "&RoleSessionName=presync-test"
            "&WebIdentityToken=eyJhbGciOi.token%2Bvalue%2Fx%3D");
  EXPECT_EQ(c->source, "web_identity");
  EXPECT_EQ(c->creds.access_key_id, "ASIAEXAMPLE");
  EXPECT_EQ(c->creds.secret_access_key.reveal(), "secret&key");
  EXPECT_EQ(c->creds.session_token.reveal(), "session-token");
  EXPECT_EQ(c->expiration, at("2025-03-04T16:00:00Z"));
}

TEST_F(CredentialsChain, TakesTheStsEndpointFromTheEnvironmentOrOptions) {
  use_web_identity();
  env_["AWS_ENDPOINT_URL_STS"] = "http://127.0.0.1:4566";
  answer(200, sts_xml("2025-03-04T16:00:00Z"));
  answer(200, sts_xml("2025-03-04T16:00:00Z"));

  auto from_env = make_chain().get(at("2025-03-04T15:00:00Z"));
  options_.sts_endpoint = "http://127.0.0.1:9999/";
  auto from_options = make_chain().get(at("2025-03-04T15:00:00Z"));

  ASSERT_TRUE(from_env);
  ASSERT_TRUE(from_options);
  EXPECT_EQ(calls_.at(0).url, "http://127.0.0.1:4566/");
  EXPECT_EQ(calls_.at(1).url, "http://127.0.0.1:9999/");
}

TEST_F(CredentialsChain, UsesTheGlobalStsEndpointWithoutARegion) {
  use_web_identity();
  answer(200, sts_xml("2025-03-04T16:00:00Z"));

  auto c = make_chain().get(at("2025-03-04T15:00:00Z"));

  ASSERT_TRUE(c);
  EXPECT_EQ(calls_.at(0).url, "https://sts.amazonaws.com/");
  EXPECT_NE(calls_.at(0).body.find("RoleSessionName=presync-1741100400"),
            std::string::npos);
}

TEST_F(CredentialsChain, ParsesTheJsonFormOfTheStsAnswer) {
  simple_response r;
  r.status = 200;
  r.body =
    R"({"AssumeRoleWithWebIdentityResponse":{"AssumeRoleWithWebIdentityResult":)"
    R"({"Credentials":{"AccessKeyId":"ASIAJSON","SecretAccessKey":"s",)"
    R"("SessionToken":"t","Expiration":1741104000}}}})";

  auto c = parse_assume_role_with_web_identity(r);

  ASSERT_TRUE(c) << c.err().describe();
  EXPECT_EQ(c->creds.access_key_id, "ASIAJSON");
  EXPECT_EQ(c->expiration, at("2025-03-04T16:00:00Z"));
}

TEST_F(CredentialsChain, MapsAnInvalidIdentityTokenToUnauthorized) {
  use_web_identity();
  answer(400, R"(<ErrorResponse><Error><Type>Sender</Type>)"
              R"(<Code>InvalidIdentityToken</Code><Message>bad</Message>)"
              R"(</Error></ErrorResponse>)");

  auto c = make_chain().get(at("2025-03-04T15:00:00Z"));

  ASSERT_FALSE(c);
  EXPECT_EQ(c.err().code, sync_error::unauthorized);
  EXPECT_EQ(c.err().http_status, 400);
  EXPECT_EQ(c.err().context,
            "sts AssumeRoleWithWebIdentity failed: InvalidIdentityToken");
}

TEST_F(CredentialsChain, RejectsAnStsAnswerWithoutSessionToken) {
  simple_response r;
  r.status = 200;
  r.body = "<Credentials><AccessKeyId>A</AccessKeyId><SecretAccessKey>S"
           "</SecretAccessKey><Expiration>2025-03-04T16:00:00Z</Expiration>"
           "</Credentials>";

  auto c = parse_assume_role_with_web_identity(r);

  ASSERT_FALSE(c);
  EXPECT_EQ(c.err().context, "sts: SessionToken missing");
}

TEST_F(CredentialsChain, RefreshesFiveMinutesBeforeExpiry) {
  use_web_identity();
  answer(200, sts_xml("2025-03-04T16:00:00Z"));
  answer(200, sts_xml("2025-03-04T17:00:00Z"));
  auto chain = make_chain();

  auto first = chain.get(at("2025-03-04T15:00:00Z"));
  auto cached = chain.get(at("2025-03-04T15:54:59Z"));
  auto calls_before_margin = calls_.size();
  auto refreshed = chain.get(at("2025-03-04T15:55:00Z"));

  ASSERT_TRUE(first);
  ASSERT_TRUE(cached);
  ASSERT_TRUE(refreshed);
  EXPECT_EQ(calls_before_margin, 1u);
  EXPECT_EQ(calls_.size(), 2u);
  EXPECT_EQ(refreshed->expiration, at("2025-03-04T17:00:00Z"));
}

TEST_F(CredentialsChain, KeepsUnexpiredCredentialsWhenARefreshFails) {
  use_web_identity();
  answer(200, sts_xml("2025-03-04T16:00:00Z"));
  answer(503, "<ErrorResponse><Error><Code>ServiceUnavailable</Code>"
              "</Error></ErrorResponse>");
  answer(503, "");
  auto chain = make_chain();
  ASSERT_TRUE(chain.get(at("2025-03-04T15:00:00Z")));

  auto in_margin = chain.get(at("2025-03-04T15:58:00Z"));
  auto expired = chain.get(at("2025-03-04T16:00:00Z"));

  ASSERT_TRUE(in_margin);
  EXPECT_EQ(in_margin->creds.access_key_id, "ASIAEXAMPLE");
  ASSERT_FALSE(expired);
  EXPECT_EQ(expired.err().code, sync_error::unavailable);
}

TEST_F(CredentialsChain, RereadsTheTokenFileOnEveryRefresh) {
  use_web_identity();
  answer(200, sts_xml("2025-03-04T15:10:00Z"));
  answer(200, sts_xml("2025-03-04T16:10:00Z"));
  auto chain = make_chain();

  ASSERT_TRUE(chain.get(at("2025-03-04T15:00:00Z")));
  files_["/var/run/token"] = "rotated";
  ASSERT_TRUE(chain.get(at("2025-03-04T15:06:00Z")));

  ASSERT_EQ(calls_.size(), 2u);
  EXPECT_NE(calls_[1].body.find("WebIdentityToken=rotated"), std::string::npos);
}

TEST_F(CredentialsChain, RequiresBothWebIdentityVariables) {
  env_["AWS_ROLE_ARN"] = "arn:aws:iam::111122223333:role/presync";

  auto c = make_chain().get(at("2025-03-04T15:00:00Z"));

  ASSERT_FALSE(c);
  EXPECT_EQ(c.err().code, sync_error::config_invalid);
  EXPECT_TRUE(calls_.empty());
}

TEST_F(CredentialsChain, FetchesContainerCredentialsFromTheFullUri) {
  env_["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = "http://127.0.0.1:8080/creds";
  env_["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = "/run/auth";
  env_["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = "from-env-loses";
  files_["/run/auth"] = "auth-from-file\n";
  answer(200, R"({"AccessKeyId":"ASIACONT","SecretAccessKey":"s",)"
              R"("Token":"t","Expiration":"2025-03-04T21:00:00Z",)"
              R"("RoleArn":"arn:aws:iam::111122223333:role/task"})");

  auto c = make_chain().get(at("2025-03-04T15:00:00Z"));

  ASSERT_TRUE(c) << c.err().describe();
  ASSERT_EQ(calls_.size(), 1u);
  EXPECT_EQ(calls_[0].method, "GET");
  EXPECT_EQ(calls_[0].url, "http://127.0.0.1:8080/creds");
  EXPECT_EQ(find_header(calls_[0].headers, "Authorization"), "auth-from-file");
  EXPECT_EQ(c->source, "container");
  EXPECT_EQ(c->creds.access_key_id, "ASIACONT");
  EXPECT_EQ(c->creds.session_token.reveal(), "t");
  EXPECT_EQ(c->expiration, at("2025-03-04T21:00:00Z"));
}

TEST_F(CredentialsChain, JoinsTheRelativeUriToTheConfiguredBase) {
  env_["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] = "/v2/credentials/abc";
  env_["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = "auth";
  options_.container_base = "http://127.0.0.1:9911";
  answer(200, R"({"AccessKeyId":"A","SecretAccessKey":"S","Token":"T",)"
              R"("Expiration":"2025-03-04T21:00:00Z"})");

  auto c = make_chain().get(at("2025-03-04T15:00:00Z"));

  ASSERT_TRUE(c);
  EXPECT_EQ(calls_.at(0).url, "http://127.0.0.1:9911/v2/credentials/abc");
  EXPECT_EQ(find_header(calls_.at(0).headers, "Authorization"), "auth");
}

TEST_F(CredentialsChain, RefusesAFullUriAtInstanceMetadata) {
  env_["AWS_CONTAINER_CREDENTIALS_FULL_URI"] =
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/x";

  auto c = make_chain().get(at("2025-03-04T15:00:00Z"));

  ASSERT_FALSE(c);
  EXPECT_EQ(c.err().code, sync_error::config_invalid);
  EXPECT_TRUE(calls_.empty());
}

TEST_F(CredentialsChain, RefusesPlainHttpToAnyOtherHost) {
  env_["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = "http://creds.example.com/x";

  auto c = make_chain().get(at("2025-03-04T15:00:00Z"));

  ASSERT_FALSE(c);
  EXPECT_NE(c.err().context.find("must be https"), std::string::npos);
  EXPECT_TRUE(calls_.empty());
}

TEST_F(CredentialsChain, RefusesAnAuthorizationTokenWithALineBreak) {
  env_["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = "https://creds.example.com/x";
  env_["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = "a\r\nX-Injected: 1";

  auto c = make_chain().get(at("2025-03-04T15:00:00Z"));

  ASSERT_FALSE(c);
  EXPECT_TRUE(calls_.empty());
}

TEST_F(CredentialsChain, MapsAContainerEndpointErrorByStatus) {
  env_["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = "https://creds.example.com/x";
  answer(403, "{}");

  auto c = make_chain().get(at("2025-03-04T15:00:00Z"));

  ASSERT_FALSE(c);
  EXPECT_EQ(c.err().code, sync_error::forbidden);
}

TEST_F(CredentialsChain, KeepsSecretsOutOfErrorsAndLogs) {
  use_web_identity();
  answer(200, "<Credentials><AccessKeyId>A</AccessKeyId>"
              "<SecretAccessKey>TOPSECRET</SecretAccessKey>"
              "<SessionToken>TOKENSECRET</SessionToken>"
              "<Expiration>never</Expiration></Credentials>");

  auto c = make_chain().get(at("2025-03-04T15:00:00Z"));
  std::ostringstream log;
  log << credentials{"A", secret_string{"TOPSECRET"}, secret_string{"T"}}
           .secret_access_key;

  ASSERT_FALSE(c);
  EXPECT_EQ(c.err().describe().find("SECRET"), std::string::npos);
  EXPECT_EQ(c.err().describe().find("eyJhbGciOi"), std::string::npos);
  EXPECT_EQ(log.str(), "***");
}

TEST(HttpStatusErrors, MapToTheCoreErrors) {
  EXPECT_EQ(error_for_http_status(429), sync_error::throttled);
  EXPECT_EQ(error_for_http_status(503), sync_error::unavailable);
  EXPECT_EQ(error_for_http_status(401), sync_error::unauthorized);
  EXPECT_EQ(error_for_http_status(403), sync_error::forbidden);
  EXPECT_EQ(error_for_http_status(404), sync_error::not_found);
  EXPECT_EQ(error_for_http_status(400), sync_error::rejected);
}
