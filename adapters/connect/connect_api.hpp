// Amazon Connect REST JSON codecs (API 2017-08-08, spec/connect.md §2):
// request builders and response parsers. No I/O: the caller adds Host,
// signs (service "connect") and sends.
#pragma once

#include "adapters/aws/sigv4.hpp"
#include "adapters/connect/service_error.hpp"
#include "protocol/error.hpp"
#include "protocol/status.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace presync::connect {

/// One Connect call: method, path (labels percent-encoded), query (encoded,
/// without '?'), headers (Content-Type when there is a body) and body.
struct api_request {
  std::string method;
  std::string path;
  std::string query;
  std::vector<aws::http_header> headers;
  std::string body;
};

// -- Users -------------------------------------------------------------------

/// One entry of ListUsers.
struct user_summary {
  std::string id;
  std::string arn;
  std::string username;
  int64_t last_modified_ms = 0;
  std::string last_modified_region;
};

/// A ListUsers page.
struct list_users_result {
  std::vector<user_summary> users;
  std::optional<std::string> next_token;
};

/// What DescribeUser tells about one user.
struct user_details {
  std::string id;
  std::string arn;
  std::string username;
  std::string first_name;
  std::string last_name;
  std::string email; ///< empty on SAML instances
  std::string secondary_email;
  std::string mobile;
  std::string phone_type; ///< SOFT_PHONE or DESK_PHONE
  bool auto_accept = false;
  int64_t after_contact_work_time_limit_s = 0; ///< 0 = unlimited
  std::string desk_phone_number;               ///< E.164
  std::string directory_user_id;
  std::vector<std::string> security_profile_ids;
  std::string routing_profile_id;
  std::string hierarchy_group_id;
  int64_t last_modified_ms = 0;
};

/// Builds GET /users-summary/{InstanceId}.
api_request build_list_users(std::string_view instance_id,
                             std::string_view next_token = {},
                             std::optional<int> max_results = {});

/// Parses a ListUsers page.
[[nodiscard]] expected<list_users_result>
parse_list_users(std::string_view body);

/// Builds GET /users/{InstanceId}/{UserId}.
api_request build_describe_user(std::string_view instance_id,
                                std::string_view user_id);

/// Parses a DescribeUser answer.
[[nodiscard]] expected<user_details> parse_describe_user(std::string_view body);

// -- Agent statuses ----------------------------------------------------------

/// One entry of ListAgentStatuses.
struct agent_status_summary {
  std::string id;
  std::string arn;
  std::string name;
  std::string type; ///< ROUTABLE, CUSTOM or OFFLINE
  int64_t last_modified_ms = 0;
  std::string last_modified_region;
};

/// A ListAgentStatuses page.
struct list_agent_statuses_result {
  std::vector<agent_status_summary> statuses;
  std::optional<std::string> next_token;
};

/// Builds GET /agent-status/{InstanceId}; `types` become repeated
/// AgentStatusTypes parameters.
api_request build_list_agent_statuses(
  std::string_view instance_id, const std::vector<std::string>& types = {},
  std::string_view next_token = {}, std::optional<int> max_results = {});

/// Parses a ListAgentStatuses page.
[[nodiscard]] expected<list_agent_statuses_result>
parse_list_agent_statuses(std::string_view body);

/// Indexes statuses by name (exact spelling), to resolve a status name to
/// its id, ARN and type.
std::map<std::string, agent_status_summary>
index_by_name(const std::vector<agent_status_summary>& statuses);

/// Builds PUT /users/{InstanceId}/{UserId}/status with {"AgentStatusId"}.
api_request build_put_user_status(std::string_view instance_id,
                                  std::string_view user_id,
                                  std::string_view agent_status_id);

// -- Current user data (reconciliation) -------------------------------------

/// One contact as GetCurrentUserData lists it.
struct user_contact {
  std::string contact_id;
  std::string channel;
  std::string initiation_method;
  std::string state; ///< AgentContactState
  int64_t state_start_ms = 0;
  std::optional<int64_t> connected_to_agent_ms;
  std::string queue_id;
};

/// One agent's live state.
struct user_data {
  std::string user_id;
  std::string user_arn;
  std::string status_name;
  std::string status_arn;
  int64_t status_start_ms = 0;
  std::vector<user_contact> contacts;
  std::optional<std::string> next_status; ///< a status *name*
  std::string effective_state;            ///< effective_state(snapshot())

  /// Returns the snapshot effective_state() works on.
  agent_snapshot snapshot() const;
};

/// A GetCurrentUserData page.
struct current_user_data_result {
  std::vector<user_data> users;
  std::optional<std::string> next_token;
  std::optional<int64_t> approximate_total_count;
};

/// Builds POST /metrics/userdata/{InstanceId} filtered by 1 to 100 agents.
[[nodiscard]] expected<api_request> build_get_current_user_data(
  std::string_view instance_id, const std::vector<std::string>& agent_ids,
  std::string_view next_token = {}, std::optional<int> max_results = {});

/// Parses a GetCurrentUserData page.
[[nodiscard]] expected<current_user_data_result>
parse_get_current_user_data(std::string_view body);

// -- Outbound calls ----------------------------------------------------------

/// StartOutboundVoiceContact input; exactly one of source_phone_number and
/// queue_id, and a client_token for idempotent retries.
struct outbound_voice_contact {
  std::string instance_id;
  std::string contact_flow_id;
  std::string destination_phone_number; ///< E.164
  std::string source_phone_number;
  std::string queue_id;
  std::map<std::string, std::string> attributes;
  std::string client_token; ///< at most 500 characters
};

/// Builds PUT /contact/outbound-voice; rejects missing required fields,
/// both or neither of source number and queue, or a bad client token.
[[nodiscard]] expected<api_request>
build_start_outbound_voice_contact(const outbound_voice_contact& c);

/// Parses a StartOutboundVoiceContact answer into the ContactId.
[[nodiscard]] expected<std::string>
parse_start_outbound_voice_contact(std::string_view body);

// -- Errors ------------------------------------------------------------------

/// Parses an error answer of `operation`: the type from x-amzn-ErrorType
/// (or the body's __type/code), the message from Message/message, the
/// request id from x-amzn-RequestId, and Retry-After (seconds) when sent.
service_error parse_error(std::string_view operation, int http_status,
                          const std::vector<aws::http_header>& headers,
                          std::string_view body);

} // namespace presync::connect
