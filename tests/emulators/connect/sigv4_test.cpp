// The emulator's own SigV4 code against the public test suite
// (../shared/fixtures/sigv4) and the extra vectors of spec section 3.9.
#include "emulators/connect/sigv4.hpp"
#include "emulators/connect/util.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace sigv4 = presync::connect_emulator::sigv4;
namespace fs = std::filesystem;

namespace {

const fs::path suite_dir = fs::path(PRESYNC_SHARED_DIR) / "fixtures/sigv4/v4";
constexpr const char* key_id = "AKIDEXAMPLE";
constexpr const char* secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Parses a suite request file: folded lines join the previous header.
sigv4::request parse_request(const std::string& text) {
  sigv4::request req;
  std::size_t pos = text.find('\n');
  const std::string first = text.substr(0, pos);
  const auto sp = first.find(' ');
  req.method = first.substr(0, sp);
  req.target = first.substr(sp + 1, first.rfind(" HTTP/") - sp - 1);
  ++pos;
  while (pos < text.size()) {
    const std::size_t eol = std::min(text.find('\n', pos), text.size());
    const std::string line = text.substr(pos, eol - pos);
    pos = eol + 1;
    if (line.empty()) {
      break;
    }
    if ((line[0] == ' ' || line[0] == '\t') && !req.headers.empty()) {
      req.headers.back().second += "\n" + line;
      continue;
    }
    const auto colon = line.find(':');
    req.headers.emplace_back(line.substr(0, colon), line.substr(colon + 1));
  }
  if (pos < text.size()) {
    req.body = text.substr(pos);
  }
  return req;
}

struct suite_case {
  std::string name;
  sigv4::request signed_request;
  sigv4::request unsigned_request;
  std::string canonical;
  std::string signature;
  bool normalize = true;
  bool plain = true; ///< no session token and no payload-hash header
  std::string token;
  std::int64_t now_ms = 0;
};

suite_case load(const std::string& name) {
  suite_case c;
  c.name = name;
  const fs::path dir = suite_dir / name;
  c.signed_request =
    parse_request(read_file(dir / "header-signed-request.txt"));
  c.unsigned_request = parse_request(read_file(dir / "request.txt"));
  c.canonical = read_file(dir / "header-canonical-request.txt");
  c.signature = read_file(dir / "header-signature.txt");
  simdjson::dom::parser parser;
  simdjson::dom::element ctx = parser.load((dir / "context.json").string());
  bool normalize = true;
  bool sign_body = false;
  std::string_view token;
  // Absent keys keep the defaults above.
  if (ctx["normalize"].get_bool().get(normalize)) {
    normalize = true;
  }
  if (ctx["sign_body"].get_bool().get(sign_body)) {
    sign_body = false;
  }
  if (ctx["credentials"]["token"].get_string().get(token)) {
    token = {};
  }
  c.normalize = normalize;
  c.token = std::string(token);
  c.plain = !sign_body && token.empty();
  std::string_view ts;
  EXPECT_EQ(ctx["timestamp"].get_string().get(ts), simdjson::SUCCESS);
  c.now_ms = presync::connect_emulator::parse_iso(ts).value_or(0);
  return c;
}

std::vector<std::string> case_names() {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(suite_dir)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string header(const sigv4::request& req, std::string_view name) {
  for (const auto& [k, v] : req.headers) {
    if (k == name) {
      return v;
    }
  }
  return {};
}

sigv4::secret_lookup suite_keys() {
  return [](std::string_view key) -> std::optional<std::string> {
    if (key == key_id) {
      return std::string(secret);
    }
    return std::nullopt;
  };
}

} // namespace

TEST(SigV4Suite, HoldsAllThirtyEightCases) {
  EXPECT_EQ(case_names().size(), 38u);
}

TEST(SigV4Suite, CanonicalRequestAndSignatureMatchEveryCase) {
  for (const auto& name : case_names()) {
    SCOPED_TRACE(name);
    const suite_case c = load(name);
    std::string why;
    const auto auth = sigv4::parse_authorization(
      header(c.signed_request, "Authorization"), why);
    ASSERT_TRUE(auth) << why;
    EXPECT_EQ(sigv4::canonical_request(c.signed_request, auth->signed_headers,
                                       c.normalize),
              c.canonical);
    const std::string scope = "20150830/us-east-1/service/aws4_request";
    EXPECT_EQ(sigv4::signature(
                secret, "20150830", "us-east-1", "service",
                sigv4::string_to_sign("20150830T123600Z", scope, c.canonical)),
              c.signature);
  }
}

TEST(SigV4Suite, VerifierAcceptsEverySignedRequest) {
  for (const auto& name : case_names()) {
    SCOPED_TRACE(name);
    const suite_case c = load(name);
    const auto v =
      sigv4::verify(c.signed_request, suite_keys(),
                    {"us-east-1", "service", 300000, c.normalize}, c.now_ms);
    EXPECT_TRUE(v.ok) << v.code << ": " << v.message;
  }
}

TEST(SigV4Suite, VerifierRejectsTamperedRequests) {
  for (const auto& name : case_names()) {
    SCOPED_TRACE(name);
    suite_case c = load(name);
    c.signed_request.body += "x";
    const auto v =
      sigv4::verify(c.signed_request, suite_keys(),
                    {"us-east-1", "service", 300000, c.normalize}, c.now_ms);
    EXPECT_FALSE(v.ok);
    EXPECT_EQ(v.status, 403);
    EXPECT_EQ(v.code, "InvalidSignatureException");
  }
}

TEST(SigV4Suite, SignerReproducesAuthorizationOfPlainCases) {
  int compared = 0;
  for (const auto& name : case_names()) {
    const suite_case c = load(name);
    if (!c.plain || !c.normalize) {
      continue;
    }
    SCOPED_TRACE(name);
    sigv4::request req = c.unsigned_request;
    sigv4::sign(req, {key_id, secret, {}}, "us-east-1", "service", c.now_ms);
    EXPECT_EQ(header(req, "Authorization"),
              header(c.signed_request, "Authorization"));
    ++compared;
  }
  EXPECT_GE(compared, 25);
}

TEST(SigV4Spec, PutUserStatusVectorMatches) {
  sigv4::request req;
  req.method = "PUT";
  req.target = "/users/00000000-0000-0000-0000-0000000000aa/"
               "11111111-1111-4111-8111-111111111111/status";
  req.headers = {{"Host", "connect.us-east-1.amazonaws.com"},
                 {"Content-Type", "application/json"}};
  req.body = R"({"AgentStatusId":"aaaaaaaa-0000-4000-8000-000000000003"})";
  const auto now =
    presync::connect_emulator::parse_amz_date("20250304T150000Z");
  ASSERT_TRUE(now);
  sigv4::sign(req, {key_id, secret, {}}, "us-east-1", "connect", *now);
  EXPECT_EQ(sigv4::sha256_hex(sigv4::canonical_request(
              req, {"content-type", "host", "x-amz-date"}, true)),
            "81f12ab1f3e75ea91376307e13b841a4af2a1df7571a186a40d1f044f330f5a4");
  EXPECT_NE(header(req, "Authorization")
              .find("Signature=9216b1265686063928198fdd8c77a889e4bc29ec4f52b9"
                    "02ce28ab2d12f81b99"),
            std::string::npos);
}

TEST(SigV4Spec, ListAgentStatusesVectorSortsRepeatedQueryKeys) {
  sigv4::request req;
  req.method = "GET";
  req.target = "/agent-status/00000000-0000-0000-0000-0000000000aa?"
               "maxResults=100&AgentStatusTypes=ROUTABLE&"
               "AgentStatusTypes=CUSTOM";
  req.headers = {{"Host", "connect.us-east-1.amazonaws.com"}};
  const auto now =
    presync::connect_emulator::parse_amz_date("20250304T150000Z");
  sigv4::sign(req, {key_id, secret, {}}, "us-east-1", "connect", *now);
  EXPECT_EQ(sigv4::canonical_query("maxResults=100&AgentStatusTypes=ROUTABLE&"
                                   "AgentStatusTypes=CUSTOM"),
            "AgentStatusTypes=CUSTOM&AgentStatusTypes=ROUTABLE&maxResults=100");
  EXPECT_NE(header(req, "Authorization")
              .find("SignedHeaders=host;x-amz-date, Signature=b17e82dd866c352a"
                    "6676a3cc2205e787d44ea52fc29ee8f1564dfce9b18da831"),
            std::string::npos);
}

TEST(SigV4Spec, KinesisVectorSignsTokenAndTarget) {
  sigv4::request req;
  req.method = "POST";
  req.target = "/";
  req.headers = {{"Host", "kinesis.us-east-1.amazonaws.com"},
                 {"Content-Type", "application/x-amz-json-1.1"},
                 {"X-Amz-Target", "Kinesis_20131202.GetRecords"}};
  req.body = R"({"ShardIterator":"AAAAAAAAAAExample","Limit":1000})";
  const auto now =
    presync::connect_emulator::parse_amz_date("20250304T150000Z");
  sigv4::sign(req, {key_id, secret, "EXAMPLESESSIONTOKEN"}, "us-east-1",
              "kinesis", *now);
  EXPECT_NE(header(req, "Authorization")
              .find("SignedHeaders=content-type;host;x-amz-date;"
                    "x-amz-security-token;x-amz-target, "
                    "Signature=1bd88f265ac9fbfba64556a8e9c13d049f494da6dd2d1b"
                    "cf3ed52349aef86e8c"),
            std::string::npos);
}

TEST(SigV4Verify, RejectsUnknownKeyAndSkewedClock) {
  sigv4::request req;
  req.method = "GET";
  req.target = "/users-summary/x";
  req.headers = {{"Host", "127.0.0.1:1"}};
  const std::int64_t now = 1741100400000;
  sigv4::request unknown = req;
  sigv4::sign(unknown, {"AKIDOTHER", secret, {}}, "us-east-1", "connect", now);
  const auto v1 = sigv4::verify(unknown, suite_keys(),
                                {"us-east-1", "connect", 300000, true}, now);
  EXPECT_EQ(v1.code, "UnrecognizedClientException");
  EXPECT_EQ(v1.status, 403);

  sigv4::request old = req;
  sigv4::sign(old, {key_id, secret, {}}, "us-east-1", "connect", now - 301000);
  const auto v2 = sigv4::verify(old, suite_keys(),
                                {"us-east-1", "connect", 300000, true}, now);
  EXPECT_EQ(v2.code, "InvalidSignatureException");
  EXPECT_NE(v2.message.find("Signature expired"), std::string::npos);

  sigv4::request wrong_region = req;
  sigv4::sign(wrong_region, {key_id, secret, {}}, "eu-west-1", "connect", now);
  const auto v3 = sigv4::verify(wrong_region, suite_keys(),
                                {"us-east-1", "connect", 300000, true}, now);
  EXPECT_EQ(v3.code, "InvalidSignatureException");
  EXPECT_NE(v3.message.find("region"), std::string::npos);
}
