#include "adapters/aws/sigv4.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;
using namespace presync::aws;

namespace {

const fs::path suite_dir = fs::path{PRESYNC_SHARED_DIR} / "fixtures/sigv4/v4";

std::string read_file(const fs::path& p) {
  std::ifstream in{p, std::ios::binary};
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Parses a suite request.txt: request line, headers with folded
// continuation lines, an empty line, then the body.
signing_request parse_request_txt(const std::string& text) {
  signing_request r;
  std::vector<std::string> lines;
  size_t start = 0;
  size_t body_at = std::string::npos;
  while (start <= text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string::npos) {
      end = text.size();
    }
    auto line = text.substr(start, end - start);
    if (line.empty() && !lines.empty()) {
      body_at = end + 1;
      break;
    }
    lines.push_back(line);
    start = end + 1;
  }

  auto& first = lines.at(0);
  auto sp1 = first.find(' ');
  auto sp2 = first.rfind(' ');
  r.method = first.substr(0, sp1);
  auto target = first.substr(sp1 + 1, sp2 - sp1 - 1);
  auto q = target.find('?');
  r.path = target.substr(0, q);
  r.query = q == std::string::npos ? "" : target.substr(q + 1);
  for (size_t i = 1; i < lines.size(); ++i) {
    const auto& line = lines[i];
    if (line.front() == ' ' || line.front() == '\t') {
      r.headers.back().value += " " + line;
      continue;
    }
    auto colon = line.find(':');
    r.headers.push_back({line.substr(0, colon), line.substr(colon + 1)});
  }
  if (body_at != std::string::npos && body_at <= text.size()) {
    r.body = text.substr(body_at);
  }
  return r;
}

struct suite_context {
  credentials creds;
  signing_params params;
};

suite_context parse_context(const std::string& json) {
  suite_context c;
  simdjson::dom::parser parser;
  simdjson::dom::element doc = parser.parse(json);
  c.creds.access_key_id =
    std::string{doc["credentials"]["access_key_id"].get_string().value()};
  c.creds.secret_access_key = secret_string{
    std::string{doc["credentials"]["secret_access_key"].get_string().value()}};
  std::string_view token;
  if (!doc["credentials"]["token"].get(token)) {
    c.creds.session_token = secret_string{std::string{token}};
  }
  c.params.region = std::string{doc["region"].get_string().value()};
  c.params.service = std::string{doc["service"].get_string().value()};
  c.params.time = parse_iso8601(doc["timestamp"].get_string().value()).value();
  c.params.normalize_path = doc["normalize"].get_bool().value();
  c.params.add_content_sha256 = doc["sign_body"].get_bool().value();
  bool omit = false;
  if (!doc["omit_session_token"].get(omit)) {
    c.params.sign_session_token = !omit;
  }
  return c;
}

// Returns the value of header `name` in a signed-request file.
std::optional<std::string> signed_request_header(const std::string& text,
                                                 std::string_view name) {
  std::istringstream in{text};
  std::string line;
  while (std::getline(in, line) && !line.empty()) {
    auto colon = line.find(':');
    if (colon == std::string::npos) {
      continue;
    }
    std::string lower = line.substr(0, colon);
    std::string want{name};
    std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
    std::transform(want.begin(), want.end(), want.begin(), ::tolower);
    if (lower == want) {
      return line.substr(colon + 1);
    }
  }
  return std::nullopt;
}

std::vector<std::string> suite_cases() {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator{suite_dir}) {
    if (entry.is_directory() && fs::exists(entry.path() / "request.txt")) {
      names.push_back(entry.path().filename().string());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

class Sigv4Suite : public testing::TestWithParam<std::string> {};

} // namespace

TEST(Sigv4SuiteFolder, HoldsAtLeastTheThirtyEightCases) {
  EXPECT_GE(suite_cases().size(), 38u);
}

TEST_P(Sigv4Suite, MatchesEveryExpectedFile) {
  auto dir = suite_dir / GetParam();
  auto request = parse_request_txt(read_file(dir / "request.txt"));
  auto ctx = parse_context(read_file(dir / "context.json"));

  auto result = sign_request(request, ctx.creds, ctx.params);

  ASSERT_TRUE(result) << result.err().describe();
  EXPECT_EQ(result->canonical_request,
            read_file(dir / "header-canonical-request.txt"));
  EXPECT_EQ(result->string_to_sign,
            read_file(dir / "header-string-to-sign.txt"));
  EXPECT_EQ(result->signature, read_file(dir / "header-signature.txt"));
  auto signed_text = read_file(dir / "header-signed-request.txt");
  EXPECT_EQ(signed_request_header(signed_text, "Authorization"),
            result->authorization);
  for (const auto& added : result->added_headers) {
    EXPECT_EQ(signed_request_header(signed_text, added.name), added.value)
      << added.name;
  }
}

INSTANTIATE_TEST_SUITE_P(V4, Sigv4Suite, testing::ValuesIn(suite_cases()),
                         [](const testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

// -- spec/connect.md §3.9 ---------------------------------------------------

namespace {

credentials example_credentials() {
  credentials c;
  c.access_key_id = "AKIDEXAMPLE";
  c.secret_access_key =
    secret_string{"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"};
  return c;
}

signing_params params_for(std::string service) {
  signing_params p;
  p.region = "us-east-1";
  p.service = std::move(service);
  p.time = parse_iso8601("2025-03-04T15:00:00Z").value();
  return p;
}

} // namespace

TEST(Sigv4Extra, PutUserStatusMatchesTheSdkSignature) {
  signing_request r;
  r.method = "PUT";
  r.path = "/users/00000000-0000-0000-0000-0000000000aa/"
           "11111111-1111-4111-8111-111111111111/status";
  r.headers = {{"Host", "connect.us-east-1.amazonaws.com"},
               {"Content-Type", "application/json"}};
  r.body = R"({"AgentStatusId":"aaaaaaaa-0000-4000-8000-000000000003"})";

  auto result = sign_request(r, example_credentials(), params_for("connect"));

  ASSERT_TRUE(result);
  EXPECT_EQ(result->signed_headers, "content-type;host;x-amz-date");
  EXPECT_EQ(sha256_hex(result->canonical_request),
            "81f12ab1f3e75ea91376307e13b841a4af2a1df7571a186a40d1f044f330f5a4");
  EXPECT_EQ(result->signature,
            "9216b1265686063928198fdd8c77a889e4bc29ec4f52b902ce28ab2d12f81b99");
}

TEST(Sigv4Extra, ListAgentStatusesSortsRepeatedQueryKeys) {
  signing_request r;
  r.method = "GET";
  r.path = "/agent-status/00000000-0000-0000-0000-0000000000aa";
  r.query = "maxResults=100&AgentStatusTypes=ROUTABLE&AgentStatusTypes=CUSTOM";
  r.headers = {{"Host", "connect.us-east-1.amazonaws.com"}};

  auto result = sign_request(r, example_credentials(), params_for("connect"));

  ASSERT_TRUE(result);
  EXPECT_EQ(canonical_query(r.query),
            "AgentStatusTypes=CUSTOM&AgentStatusTypes=ROUTABLE&maxResults=100");
  EXPECT_EQ(result->signed_headers, "host;x-amz-date");
  EXPECT_EQ(result->signature,
            "b17e82dd866c352a6676a3cc2205e787d44ea52fc29ee8f1564dfce9b18da831");
}

TEST(Sigv4Extra, KinesisGetRecordsSignsTargetAndSessionToken) {
  signing_request r;
  r.method = "POST";
  r.path = "/";
  r.headers = {{"Host", "kinesis.us-east-1.amazonaws.com"},
               {"Content-Type", "application/x-amz-json-1.1"},
               {"X-Amz-Target", "Kinesis_20131202.GetRecords"}};
  r.body = R"({"ShardIterator":"AAAAAAAAAAExample","Limit":1000})";
  auto creds = example_credentials();
  creds.session_token = secret_string{"EXAMPLESESSIONTOKEN"};

  auto result = sign_request(r, creds, params_for("kinesis"));

  ASSERT_TRUE(result);
  EXPECT_EQ(result->signed_headers,
            "content-type;host;x-amz-date;x-amz-security-token;x-amz-target");
  EXPECT_EQ(result->signature,
            "1bd88f265ac9fbfba64556a8e9c13d049f494da6dd2d1bcf3ed52349aef86e8c");
  auto sent = apply_signature(r, result.value());
  EXPECT_EQ(sent.headers.size(), 6u);
  EXPECT_EQ(sent.headers[4].name, "X-Amz-Security-Token");
  EXPECT_EQ(sent.headers[4].value, "EXAMPLESESSIONTOKEN");
}

// -- Building blocks ---------------------------------------------------------

TEST(Sigv4, EncodesAnAlreadyEncodedPathASecondTime) {
  EXPECT_EQ(canonical_uri("/a%20b", true), "/a%2520b");
  EXPECT_EQ(canonical_uri("", true), "/");
}

TEST(Sigv4, NormalisesDotSegmentsAndRepeatedSlashes) {
  EXPECT_EQ(canonical_uri("/a/./b/../c//d/", true), "/a/c/d/");
  EXPECT_EQ(canonical_uri("/a/./b/../c//d/", false), "/a/./b/../c//d/");
  EXPECT_EQ(canonical_uri("/..", true), "/");
}

TEST(Sigv4, EncodesQueryReservedCharactersAndSpaces) {
  EXPECT_EQ(canonical_query("b=x y&a=1+2&c&d=%2f%zz"),
            "a=1%2B2&b=x%20y&c=&d=%2F%25zz");
}

TEST(Sigv4, ReplacesAnExistingDateHeaderInsteadOfSigningItTwice) {
  signing_request r;
  r.method = "GET";
  r.path = "/";
  r.headers = {{"Host", "h"}, {"X-Amz-Date", "19990101T000000Z"}};

  auto result = sign_request(r, example_credentials(), params_for("svc"));

  ASSERT_TRUE(result);
  EXPECT_NE(result->canonical_request.find("x-amz-date:20250304T150000Z\n"),
            std::string::npos);
  EXPECT_EQ(result->canonical_request.find("19990101"), std::string::npos);
}

TEST(Sigv4, RejectsARequestWithoutHost) {
  signing_request r;
  r.method = "GET";
  r.path = "/";

  auto result = sign_request(r, example_credentials(), params_for("svc"));

  ASSERT_FALSE(result);
  EXPECT_EQ(result.err().code, presync::sync_error::rejected);
}

TEST(Sigv4, RejectsEmptyCredentials) {
  signing_request r;
  r.method = "GET";
  r.headers = {{"Host", "h"}};

  auto result = sign_request(r, credentials{}, params_for("svc"));

  ASSERT_FALSE(result);
  EXPECT_EQ(result.err().code, presync::sync_error::config_invalid);
}

TEST(Sigv4, ParsesIsoTimesLeniently) {
  auto t = parse_iso8601("2015-08-30T12:36:00.123456Z");

  ASSERT_TRUE(t);
  EXPECT_EQ(format_amz_date(*t), "20150830T123600Z");
  EXPECT_FALSE(parse_iso8601("2015-02-30T12:36:00Z"));
  EXPECT_FALSE(parse_iso8601("2015-08-30 12:36:00"));
}
