#include "adapters/aws/credentials.hpp"

#include <simdjson.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace presync::aws {

namespace {

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) {
      return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
    };
    if (lower(a[i]) != lower(b[i])) {
      return false;
    }
  }
  return true;
}

std::string trim(std::string_view text) {
  auto space = [](char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
  };
  while (!text.empty() && space(text.front())) {
    text.remove_prefix(1);
  }
  while (!text.empty() && space(text.back())) {
    text.remove_suffix(1);
  }
  return std::string{text};
}

// Returns the text between <tag> and </tag> after `from`, XML entities
// decoded; nullopt when the element is absent.
std::optional<std::string> xml_element(std::string_view xml,
                                       std::string_view tag, size_t from = 0) {
  auto open = "<" + std::string{tag} + ">";
  auto close = "</" + std::string{tag} + ">";
  auto start = xml.find(open, from);
  if (start == std::string_view::npos) {
    return std::nullopt;
  }
  start += open.size();
  auto end = xml.find(close, start);
  if (end == std::string_view::npos) {
    return std::nullopt;
  }
  auto raw = xml.substr(start, end - start);
  std::string out;
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '&') {
      out += raw[i];
      continue;
    }
    constexpr std::pair<std::string_view, char> entities[] = {
      {"&amp;", '&'},  {"&lt;", '<'},    {"&gt;", '>'},
      {"&quot;", '"'}, {"&apos;", '\''},
    };
    bool matched = false;
    for (auto [name, ch] : entities) {
      if (raw.substr(i, name.size()) == name) {
        out += ch;
        i += name.size() - 1;
        matched = true;
        break;
      }
    }
    if (!matched) {
      out += '&';
    }
  }
  return out;
}

// Reads the credential fields of one JSON object; `token_key` differs
// between STS (SessionToken) and the container endpoint (Token).
expected<timed_credentials>
read_credentials_object(simdjson::ondemand::object obj,
                        std::string_view token_key, std::string_view where) {
  timed_credentials out;
  for (auto field : obj) {
    std::string_view key;
    if (field.unescaped_key().get(key)) {
      return make_error(sync_error::malformed,
                        std::string{where} + ": unreadable key");
    }
    auto value = field.value();
    auto read_string = [&](std::string& target) -> bool {
      std::string_view text;
      if (value.get_string().get(text)) {
        return false;
      }
      target.assign(text);
      return true;
    };
    std::string text;
    if (key == "AccessKeyId") {
      if (!read_string(out.creds.access_key_id)) {
        return make_error(sync_error::malformed,
                          std::string{where} + ".AccessKeyId: not a string");
      }
    } else if (key == "SecretAccessKey") {
      if (!read_string(text)) {
        return make_error(sync_error::malformed,
                          std::string{where} +
                            ".SecretAccessKey: not a string");
      }
      out.creds.secret_access_key = secret_string{text};
    } else if (key == token_key) {
      if (!read_string(text)) {
        return make_error(sync_error::malformed, std::string{where} + "." +
                                                   std::string{token_key} +
                                                   ": not a string");
      }
      out.creds.session_token = secret_string{text};
    } else if (key == "Expiration") {
      double seconds = 0;
      if (value.get_double().get(seconds) == simdjson::SUCCESS) {
        out.expiration = std::chrono::sys_seconds{
          std::chrono::seconds{static_cast<long long>(seconds)}};
      } else if (read_string(text)) {
        out.expiration = parse_iso8601(text);
        if (!out.expiration) {
          return make_error(sync_error::malformed,
                            std::string{where} +
                              ".Expiration: not an ISO-8601 time");
        }
      } else {
        return make_error(sync_error::malformed,
                          std::string{where} +
                            ".Expiration: neither number nor string");
      }
    }
  }
  if (out.creds.access_key_id.empty()) {
    return make_error(sync_error::malformed,
                      std::string{where} + ".AccessKeyId: missing");
  }
  if (out.creds.secret_access_key.empty()) {
    return make_error(sync_error::malformed,
                      std::string{where} + ".SecretAccessKey: missing");
  }
  return out;
}

// Walks `path` (object keys) down from the document root to an object.
expected<timed_credentials>
parse_json_credentials(std::string_view body,
                       std::initializer_list<std::string_view> path,
                       std::string_view token_key, std::string_view where) {
  simdjson::ondemand::parser parser;
  simdjson::padded_string padded{body};
  simdjson::ondemand::document doc;
  simdjson::ondemand::object obj;
  if (parser.iterate(padded).get(doc) || doc.get_object().get(obj)) {
    return make_error(sync_error::malformed,
                      std::string{where} + ": not a JSON object");
  }
  std::string walked{where};
  for (auto key : path) {
    walked += ".";
    walked += key;
    if (obj.find_field_unordered(key).get_object().get(obj)) {
      return make_error(sync_error::malformed, walked + ": missing");
    }
  }
  return read_credentials_object(obj, token_key, walked);
}

error remote_error(int status, std::string_view code, std::string what) {
  auto kind = error_for_http_status(status);
  if (code == "InvalidIdentityToken" || code == "ExpiredTokenException" ||
      code == "ExpiredToken") {
    kind = sync_error::unauthorized;
  } else if (code == "AccessDenied" || code == "AccessDeniedException") {
    kind = sync_error::forbidden;
  } else if (code == "Throttling" || code == "ThrottlingException") {
    kind = sync_error::throttled;
  } else if (code == "IDPCommunicationError") {
    kind = sync_error::unavailable;
  }
  auto e = make_error(kind, std::move(what), status);
  return e;
}

// Splits "scheme://host[:port]/..." into scheme and host (brackets kept for
// IPv6); nullopt when there is no scheme.
std::optional<std::pair<std::string, std::string>>
split_url(std::string_view url) {
  auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    return std::nullopt;
  }
  auto scheme = url.substr(0, scheme_end);
  auto rest = url.substr(scheme_end + 3);
  auto host_end = rest.find_first_of("/?#");
  auto authority = rest.substr(0, host_end);
  auto at = authority.rfind('@');
  if (at != std::string_view::npos) {
    authority = authority.substr(at + 1);
  }
  std::string_view host = authority;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    host = authority.substr(
      0, close == std::string_view::npos ? authority.size() : close + 1);
  } else {
    host = authority.substr(0, authority.find(':'));
  }
  std::string lower_scheme{scheme};
  for (auto& c : lower_scheme) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return std::pair{lower_scheme, std::string{host}};
}

} // namespace

env_lookup process_environment() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* value = std::getenv(std::string{name}.c_str());
    if (value == nullptr) {
      return std::nullopt;
    }
    return std::string{value};
  };
}

file_reader local_files() {
  return [](const std::string& path) -> expected<std::string> {
    std::ifstream in{path, std::ios::binary};
    if (!in) {
      return make_error(sync_error::config_invalid, "cannot read file " + path);
    }
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  };
}

std::optional<std::string_view>
find_header(const std::vector<http_header>& headers, std::string_view name) {
  for (const auto& h : headers) {
    if (iequal(h.name, name)) {
      return std::string_view{h.value};
    }
  }
  return std::nullopt;
}

sync_error error_for_http_status(int status) {
  if (status == 429) {
    return sync_error::throttled;
  }
  if (status >= 500) {
    return sync_error::unavailable;
  }
  if (status == 401) {
    return sync_error::unauthorized;
  }
  if (status == 403) {
    return sync_error::forbidden;
  }
  if (status == 404) {
    return sync_error::not_found;
  }
  return sync_error::rejected;
}

simple_request build_assume_role_with_web_identity(
  std::string_view endpoint, std::string_view role_arn,
  std::string_view session_name, const secret_string& web_identity_token) {
  simple_request r;
  r.method = "POST";
  r.url = std::string{endpoint};
  if (r.url.empty() || r.url.back() != '/') {
    r.url += '/';
  }
  r.headers.push_back(
    {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"});
  r.body =
    "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=" +
    uri_encode(role_arn, false) +
    "&RoleSessionName=" + uri_encode(session_name, false) +
    "&WebIdentityToken=" + uri_encode(web_identity_token.reveal(), false);
  return r;
}

expected<timed_credentials>
parse_assume_role_with_web_identity(const simple_response& response) {
  std::string_view body = response.body;
  auto first = body.find_first_not_of(" \t\r\n");
  bool is_json = first != std::string_view::npos && body[first] == '{';

  if (response.status < 200 || response.status > 299) {
    std::string code;
    if (is_json) {
      simdjson::ondemand::parser parser;
      simdjson::padded_string padded{body};
      simdjson::ondemand::document doc;
      std::string_view text;
      if (!parser.iterate(padded).get(doc) &&
          !doc["Error"]["Code"].get_string().get(text)) {
        code.assign(text);
      }
    } else {
      code = xml_element(body, "Code").value_or("");
    }
    return remote_error(response.status, code,
                        "sts AssumeRoleWithWebIdentity failed" +
                          (code.empty() ? "" : ": " + code));
  }

  timed_credentials out;
  if (is_json) {
    auto parsed =
      parse_json_credentials(body,
                             {"AssumeRoleWithWebIdentityResponse",
                              "AssumeRoleWithWebIdentityResult", "Credentials"},
                             "SessionToken", "sts");
    if (!parsed) {
      return parsed.err();
    }
    out = std::move(parsed.value());
  } else {
    auto at = body.find("<Credentials>");
    if (at == std::string_view::npos) {
      return make_error(sync_error::malformed,
                        "sts: Credentials element missing");
    }
    auto id = xml_element(body, "AccessKeyId", at);
    auto secret = xml_element(body, "SecretAccessKey", at);
    auto token = xml_element(body, "SessionToken", at);
    auto expiration = xml_element(body, "Expiration", at);
    if (!id || id->empty()) {
      return make_error(sync_error::malformed, "sts: AccessKeyId missing");
    }
    if (!secret || secret->empty()) {
      return make_error(sync_error::malformed, "sts: SecretAccessKey missing");
    }
    out.creds.access_key_id = *id;
    out.creds.secret_access_key = secret_string{*secret};
    out.creds.session_token = secret_string{token.value_or("")};
    if (expiration) {
      out.expiration = parse_iso8601(trim(*expiration));
      if (!out.expiration) {
        return make_error(sync_error::malformed,
                          "sts: Expiration is not an ISO-8601 time");
      }
    }
  }
  if (out.creds.session_token.empty()) {
    return make_error(sync_error::malformed, "sts: SessionToken missing");
  }
  if (!out.expiration) {
    return make_error(sync_error::malformed, "sts: Expiration missing");
  }
  out.source = "web_identity";
  return out;
}

expected<timed_credentials>
parse_container_credentials(const simple_response& response) {
  if (response.status < 200 || response.status > 299) {
    return make_error(error_for_http_status(response.status),
                      "container credentials endpoint failed", response.status);
  }
  auto parsed = parse_json_credentials(response.body, {}, "Token", "container");
  if (!parsed) {
    return parsed.err();
  }
  parsed->source = "container";
  return parsed;
}

credentials_chain::credentials_chain(env_lookup env, file_reader files,
                                     http_call http,
                                     credentials_options options)
  : env_(std::move(env)), files_(std::move(files)), http_(std::move(http)),
    options_(std::move(options)) {}

std::optional<std::string> credentials_chain::env(std::string_view name) const {
  auto value = env_(name);
  if (value && value->empty()) {
    return std::nullopt;
  }
  return value;
}

std::string credentials_chain::sts_endpoint() const {
  if (!options_.sts_endpoint.empty()) {
    return options_.sts_endpoint;
  }
  if (auto url = env("AWS_ENDPOINT_URL_STS")) {
    return *url;
  }
  auto region = options_.region;
  if (region.empty()) {
    region = env("AWS_REGION").value_or(env("AWS_DEFAULT_REGION").value_or(""));
  }
  if (region.empty()) {
    return "https://sts.amazonaws.com";
  }
  return "https://sts." + region + ".amazonaws.com";
}

expected<timed_credentials>
credentials_chain::get(std::chrono::sys_seconds now) {
  if (cached_ && (!cached_->expiration ||
                  now + options_.refresh_margin < *cached_->expiration)) {
    return *cached_;
  }

  auto fresh = resolve(now);
  if (!fresh) {
    if (cached_ && cached_->expiration && now < *cached_->expiration) {
      return *cached_;
    }
    return fresh.err();
  }
  cached_ = fresh.value();
  return fresh;
}

expected<timed_credentials>
credentials_chain::resolve(std::chrono::sys_seconds now) {
  // 1. Static keys from the environment.
  auto id = env("AWS_ACCESS_KEY_ID");
  auto secret = env("AWS_SECRET_ACCESS_KEY");
  if (id || secret) {
    if (!id || !secret) {
      return make_error(sync_error::config_invalid,
                        "credentials: AWS_ACCESS_KEY_ID and "
                        "AWS_SECRET_ACCESS_KEY must be set together");
    }
    timed_credentials out;
    out.creds.access_key_id = *id;
    out.creds.secret_access_key = secret_string{*secret};
    out.creds.session_token =
      secret_string{env("AWS_SESSION_TOKEN").value_or("")};
    out.source = "environment";
    return out;
  }

  // 2. Web identity, only when both variables are set.
  if (env("AWS_WEB_IDENTITY_TOKEN_FILE") || env("AWS_ROLE_ARN")) {
    return from_web_identity(now);
  }

  // 3. Container credentials, only when one of the URIs is set.
  if (env("AWS_CONTAINER_CREDENTIALS_FULL_URI") ||
      env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")) {
    return from_container();
  }

  return make_error(
    sync_error::config_invalid,
    "credentials: none found; set AWS_ACCESS_KEY_ID and "
    "AWS_SECRET_ACCESS_KEY, or AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN, "
    "or AWS_CONTAINER_CREDENTIALS_FULL_URI / _RELATIVE_URI (instance "
    "metadata is never used)");
}

expected<timed_credentials>
credentials_chain::from_web_identity(std::chrono::sys_seconds now) {
  auto token_file = env("AWS_WEB_IDENTITY_TOKEN_FILE");
  auto role_arn = env("AWS_ROLE_ARN");
  if (!token_file || !role_arn) {
    return make_error(sync_error::config_invalid,
                      "credentials: AWS_WEB_IDENTITY_TOKEN_FILE and "
                      "AWS_ROLE_ARN must be set together");
  }

  // The token file is read on every refresh: the platform rotates it.
  auto token = files_(*token_file);
  if (!token) {
    return make_error(sync_error::config_invalid,
                      "credentials: cannot read AWS_WEB_IDENTITY_TOKEN_FILE " +
                        *token_file);
  }
  auto token_text = trim(token.value());
  if (token_text.empty()) {
    return make_error(sync_error::config_invalid,
                      "credentials: AWS_WEB_IDENTITY_TOKEN_FILE " +
                        *token_file + " is empty");
  }
  auto session =
    env("AWS_ROLE_SESSION_NAME")
      .value_or("presync-" + std::to_string(now.time_since_epoch().count()));

  auto request = build_assume_role_with_web_identity(
    sts_endpoint(), *role_arn, session, secret_string{token_text});
  auto response = http_(request);
  if (!response) {
    return response.err();
  }
  return parse_assume_role_with_web_identity(response.value());
}

expected<timed_credentials> credentials_chain::from_container() {
  std::string url;
  if (auto full = env("AWS_CONTAINER_CREDENTIALS_FULL_URI")) {
    url = *full;
    auto parts = split_url(url);
    if (!parts) {
      return make_error(sync_error::config_invalid,
                        "credentials: AWS_CONTAINER_CREDENTIALS_FULL_URI "
                        "is not an absolute URL");
    }
    auto [scheme, host] = *parts;
    bool loopback = host == "127.0.0.1" || host == "localhost" ||
                    host == "[::1]" || host == "169.254.170.2" ||
                    host == "169.254.170.23";
    if (host == "169.254.169.254" || host == "[fd00:ec2::254]") {
      return make_error(sync_error::config_invalid,
                        "credentials: AWS_CONTAINER_CREDENTIALS_FULL_URI "
                        "points at instance metadata, which presync never "
                        "uses");
    }
    if (scheme != "https" && !(scheme == "http" && loopback)) {
      return make_error(sync_error::config_invalid,
                        "credentials: AWS_CONTAINER_CREDENTIALS_FULL_URI "
                        "must be https, or http on loopback or the "
                        "container agent's address");
    }
  } else {
    auto relative = env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI").value();
    if (relative.front() != '/') {
      return make_error(sync_error::config_invalid,
                        "credentials: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI "
                        "must start with '/'");
    }
    url = options_.container_base + relative;
  }

  simple_request request;
  request.method = "GET";
  request.url = url;
  std::optional<std::string> auth;
  if (auto file = env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")) {
    auto text = files_(*file);
    if (!text) {
      return make_error(sync_error::config_invalid,
                        "credentials: cannot read "
                        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE " +
                          *file);
    }
    auth = trim(text.value());
  } else {
    auth = env("AWS_CONTAINER_AUTHORIZATION_TOKEN");
  }
  if (auth) {
    if (auth->find_first_of("\r\n") != std::string::npos) {
      return make_error(sync_error::config_invalid,
                        "credentials: the container authorization token "
                        "holds a line break");
    }
    request.headers.push_back({"Authorization", *auth});
  }

  auto response = http_(request);
  if (!response) {
    return response.err();
  }
  return parse_container_credentials(response.value());
}

} // namespace presync::aws
