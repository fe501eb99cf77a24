#include "adapters/metrics/api_call.hpp"

#include <array>
#include <utility>
#include <vector>

namespace presync::metrics {

namespace {

using namespace std::string_view_literals;

constexpr api_call unknown{"other", "other"};

/// Returns the path of an absolute URL, without query or fragment.
std::string_view path_of(std::string_view url) {
  auto scheme = url.find("://");
  auto rest = scheme == std::string_view::npos ? url : url.substr(scheme + 3);
  auto slash = rest.find('/');
  if (slash == std::string_view::npos) {
    return "/";
  }
  auto path = rest.substr(slash);
  return path.substr(0, path.find_first_of("?#"));
}

/// Splits a path into its non-empty segments.
std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> out;
  while (!path.empty()) {
    auto slash = path.find('/');
    auto part = path.substr(0, slash);
    if (!part.empty()) {
      out.push_back(part);
    }
    if (slash == std::string_view::npos) {
      break;
    }
    path.remove_prefix(slash + 1);
  }
  return out;
}

std::string_view graph_operation(const std::vector<std::string_view>& s) {
  // s[0] is the version segment.
  if (s.size() == 2 && s[1] == "$batch") {
    return "batch";
  }
  if (s.size() == 3 && s[1] == "communications" &&
      s[2] == "getPresencesByUserId") {
    return "get_presences";
  }
  if (s.size() >= 3 && s[1] == "admin" && s[2] == "teams") {
    return "teams_user_configuration";
  }
  if (s.size() < 2 || s[1] != "users") {
    return "other";
  }
  if (s.size() == 2) {
    return "list_users";
  }
  if (s.size() == 3) {
    return s[2] == "delta" ? "users_delta" : "get_user";
  }
  if (s[3] != "presence") {
    return "other";
  }
  if (s.size() == 4) {
    return "get_presence";
  }
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 4>
    actions{{{"setPresence", "set_presence"},
             {"clearPresence", "clear_presence"},
             {"setUserPreferredPresence", "set_preferred_presence"},
             {"clearUserPreferredPresence", "clear_preferred_presence"}}};
  for (const auto& [name, label] : actions) {
    if (s.size() == 5 && s[4] == name) {
      return label;
    }
  }
  return "other";
}

std::optional<std::string_view>
connect_operation(std::string_view method,
                  const std::vector<std::string_view>& s) {
  if (s.empty()) {
    return std::nullopt;
  }
  if (s[0] == "users-summary" && s.size() == 2) {
    return "list_users"sv;
  }
  if (s[0] == "users" && s.size() == 4 && s[3] == "status") {
    return "put_user_status"sv;
  }
  if (s[0] == "users" && s.size() == 3 && method == "GET") {
    return "describe_user"sv;
  }
  if (s[0] == "metrics" && s.size() == 3 && s[1] == "userdata") {
    return "get_current_user_data"sv;
  }
  if (s[0] == "agent-status" && s.size() == 2) {
    return "list_agent_statuses"sv;
  }
  if (s[0] == "contact" && s.size() == 2 && s[1] == "outbound-voice") {
    return "start_outbound_voice_contact"sv;
  }
  return std::nullopt;
}

std::string_view kinesis_operation(std::string_view target) {
  static constexpr std::string_view prefix = "Kinesis_20131202.";
  if (target.substr(0, prefix.size()) != prefix) {
    return "other";
  }
  target.remove_prefix(prefix.size());
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 7>
    names{{{"GetRecords", "get_records"},
           {"GetShardIterator", "get_shard_iterator"},
           {"ListShards", "list_shards"},
           {"DescribeStream", "describe_stream"},
           {"DescribeStreamSummary", "describe_stream_summary"},
           {"PutRecord", "put_record"},
           {"PutRecords", "put_records"}}};
  for (const auto& [name, label] : names) {
    if (target == name) {
      return label;
    }
  }
  return "other";
}

} // namespace

api_call classify_api_call(std::string_view method, std::string_view url,
                           std::optional<std::string_view> amz_target,
                           std::string_view body) {
  if (amz_target) {
    return {"kinesis", kinesis_operation(*amz_target)};
  }
  auto path = path_of(url);
  if (path.find("/oauth2/v2.0/token") != std::string_view::npos) {
    return {"entra", "token"};
  }
  auto parts = segments(path);
  if (!parts.empty() && (parts[0] == "v1.0" || parts[0] == "beta")) {
    return {"graph", graph_operation(parts)};
  }
  if (auto op = connect_operation(method, parts)) {
    return {"connect", *op};
  }
  if (body.find("Action=AssumeRoleWithWebIdentity") != std::string_view::npos) {
    return {"sts", "assume_role_with_web_identity"};
  }
  if (parts.size() >= 2 && parts[0] == "v2" && parts[1] == "credentials") {
    return {"aws_credentials", "container_credentials"};
  }
  return unknown;
}

std::string_view status_class(std::optional<int> http_status) {
  if (!http_status || *http_status < 100 || *http_status > 599) {
    return "error";
  }
  static constexpr std::array<std::string_view, 5> classes{"1xx", "2xx", "3xx",
                                                           "4xx", "5xx"};
  return classes[static_cast<size_t>(*http_status / 100 - 1)];
}

bool is_throttling_answer(int http_status, bool has_retry_after,
                          std::string_view body) {
  if (http_status == 429 || (http_status == 503 && has_retry_after)) {
    return true;
  }
  if (http_status != 400) {
    return false;
  }
  for (auto type :
       {"ProvisionedThroughputExceededException"sv, "ThrottlingException"sv,
        "TooManyRequestsException"sv, "LimitExceededException"sv}) {
    if (body.find(type) != std::string_view::npos) {
      return true;
    }
  }
  return false;
}

} // namespace presync::metrics
