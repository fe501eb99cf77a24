// The agent model of the Connect emulator: agents, statuses, contacts and
// the agent event records every change produces (spec section 1).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace presync::connect_emulator {

/// An agent status of the instance (`ROUTABLE`, `OFFLINE` or `CUSTOM`).
struct status_def {
  std::string id;
  std::string name;
  std::string type;
};

/// A contact an agent holds.
struct contact {
  std::string id;
  std::string channel = "VOICE";
  std::string initiation = "INBOUND";
  std::string state; ///< CONNECTING, CONNECTED, CONNECTED_ONHOLD, ENDED, ...
  std::int64_t state_start_ms = 0;
  std::optional<std::int64_t> connected_ms;
  std::optional<std::int64_t> queue_ms;
  std::string queue_id;
};

/// One agent (Connect user) and its live state.
struct agent {
  std::string id;
  std::string username;
  std::string first_name;
  std::string last_name;
  std::string email;
  std::string phone_type; ///< SOFT_PHONE or DESK_PHONE
  std::string did;        ///< E.164 direct-dial number
  int acw_limit_s = 30;
  std::int64_t modified_ms = 0;

  bool logged_in = false;
  std::optional<std::int64_t> logout_ms;
  std::size_t status = 1; ///< index into the instance statuses
  std::int64_t status_start_ms = 0;
  std::optional<std::size_t> next_status;
  std::int64_t next_enqueued_ms = 0;
  std::vector<contact> contacts;
  std::optional<std::int64_t> last_event_ms;
};

/// One agent event record (the decoded Kinesis `Data`).
struct event_record {
  std::uint64_t seq = 0;
  std::string agent_id;
  std::string type;
  std::string json;
};

/// A PutUserStatus the emulator received.
struct status_put {
  std::string user_id;
  std::string status_id;
  std::string status_name;
  std::string applied; ///< "current", "next" or "unchanged"
  std::int64_t received_ms = 0;
};

/// A StartOutboundVoiceContact the emulator received.
struct outbound_call {
  std::string contact_id;
  std::string destination;
  std::string contact_flow_id;
  std::string queue_id;
  std::string source_phone_number;
  std::string client_token;
  std::vector<std::pair<std::string, std::string>> attributes;
  bool replay = false; ///< same ClientToken as an earlier call
  std::int64_t received_ms = 0;
};

/// Instance-wide settings.
struct instance_config {
  std::string account_id = "111122223333";
  std::string region = "us-east-1";
  std::string instance_id = "00000000-0000-0000-0000-0000000000aa";
  std::size_t agents = 10;
};

/// The outcome of a model change: empty when fine, else an error text and
/// an HTTP-ish status (404 unknown, 409 conflict, 400 bad input).
struct change_error {
  int status = 0;
  std::string code;
  std::string message;
};
using change_result = std::optional<change_error>;

/// Holds the instance, its agents and the event log; not thread-safe.
class model {
 public:
  explicit model(instance_config cfg);

  // -- clock ---------------------------------------------------------------

  /// Returns the emulator time: real time plus every advance.
  std::int64_t now_ms() const;
  /// Moves the emulator clock forward and emits due heartbeats.
  void advance(std::int64_t ms);
  /// Returns how far the clock was advanced in total.
  std::int64_t offset_ms() const { return offset_ms_; }
  /// Emits HEART_BEAT events that are due at the current time.
  void tick();
  /// Turns idle heartbeats on or off.
  void set_heartbeats(bool on) { heartbeats_ = on; }
  bool heartbeats() const { return heartbeats_; }

  // -- identifiers ---------------------------------------------------------

  const instance_config& config() const { return cfg_; }
  std::string instance_arn() const;
  std::string agent_arn(const agent& a) const;
  std::string status_arn(const status_def& s) const;
  std::string queue_arn(std::string_view queue_id) const;
  std::string routing_profile_id() const;
  std::string routing_profile_arn() const;
  std::string group_arn(std::string_view group_id) const;
  static constexpr std::string_view inbound_queue_id =
    "33333333-3333-4333-8333-333333333333";
  static constexpr std::string_view outbound_queue_id =
    "33333333-3333-4333-8333-333333333334";
  static constexpr std::string_view group1_id =
    "55555555-5555-4555-8555-555555555551";
  static constexpr std::string_view group2_id =
    "55555555-5555-4555-8555-555555555552";

  // -- lookups -------------------------------------------------------------

  const std::vector<status_def>& statuses() const { return statuses_; }
  /// Finds a status by id, ARN or name (case-insensitive).
  std::optional<std::size_t> find_status(std::string_view key) const;
  const std::vector<agent>& agents() const { return agents_; }
  /// Finds an agent by id, ARN or username.
  agent* find_agent(std::string_view key);
  const agent* find_agent(std::string_view key) const;

  // -- changes (each writes agent events) ----------------------------------

  /// Adds a generated agent (next number) and returns it; callers may
  /// then change its identity fields (names, username, e-mail, phones).
  agent& add_agent();
  change_result login(std::string_view agent_key,
                      std::optional<std::size_t> status);
  change_result logout(std::string_view agent_key);
  /// Sets the status, or the next status while the agent handles a
  /// contact; `applied` tells which.
  change_result set_status(std::string_view agent_key, std::size_t status,
                           std::string& applied);
  /// Offers a contact to the agent (state CONNECTING).
  change_result offer_contact(std::string_view agent_key, contact c,
                              std::string& contact_id);
  /// Moves a contact: connect, hold, resume, end, miss, reject, error, clear.
  change_result contact_action(std::string_view agent_key,
                               std::string_view contact_id,
                               std::string_view action);

  // -- records -------------------------------------------------------------

  const std::vector<event_record>& events() const { return events_; }
  std::vector<status_put>& status_puts() { return status_puts_; }
  std::vector<outbound_call>& outbound_calls() { return outbound_calls_; }
  /// Maps a ClientToken to the ContactId it produced.
  std::map<std::string, std::string>& client_tokens() { return tokens_; }

  /// Returns the agent snapshot JSON (AgentSnapshot of the stream model).
  std::string snapshot(const agent& a) const;
  /// Returns the effective state of spec section 1.4 precedence.
  static std::string effective_state(const agent& a,
                                     const std::vector<status_def>& statuses);
  /// Returns whether the agent holds a contact that makes it busy.
  static bool busy(const agent& a);

  /// Returns a fresh random UUID (version 4).
  std::string make_uuid();

 private:
  void emit(agent& a, std::string_view type,
            const std::optional<std::string>& previous, std::int64_t at_ms);
  void apply_next_status_if_clear(agent& a);

  instance_config cfg_;
  std::int64_t offset_ms_ = 0;
  bool heartbeats_ = true;
  std::vector<status_def> statuses_;
  std::vector<agent> agents_;
  std::vector<event_record> events_;
  std::vector<status_put> status_puts_;
  std::vector<outbound_call> outbound_calls_;
  std::map<std::string, std::string> tokens_;
  std::mt19937_64 rng_;
};

} // namespace presync::connect_emulator
