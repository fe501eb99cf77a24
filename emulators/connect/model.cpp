#include "emulators/connect/model.hpp"

#include "emulators/connect/util.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace presync::connect_emulator {

namespace {

constexpr std::int64_t heartbeat_ms = 120 * 1000;
constexpr std::int64_t heartbeat_after_logout_ms = 60 * 60 * 1000;

// Statuses exist since the instance was made; fixed times keep the list
// stable across runs.
constexpr std::int64_t status_modified_ms = 1735689600000;

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string last_segment(std::string_view arn) {
  const auto slash = arn.rfind('/');
  return std::string(slash == std::string_view::npos ? arn
                                                     : arn.substr(slash + 1));
}

bool is_terminal_miss(std::string_view state) {
  return state == "MISSED" || state == "REJECTED" || state == "ERROR";
}

} // namespace

model::model(instance_config cfg)
  : cfg_(std::move(cfg)), rng_(std::random_device{}()) {
  static constexpr std::pair<const char*, const char*> defs[] = {
    {"Available", "ROUTABLE"}, {"Offline", "OFFLINE"}, {"Lunch", "CUSTOM"},
    {"Break", "CUSTOM"},       {"Training", "CUSTOM"}, {"Meeting", "CUSTOM"},
    {"TeamsCall", "CUSTOM"}};
  std::size_t n = 1;
  for (const auto& [name, type] : defs) {
    char id[40];
    std::snprintf(id, sizeof id, "aaaaaaaa-0000-4000-8000-%012zu", n++);
    statuses_.push_back({id, name, type});
  }
  for (std::size_t i = 0; i < cfg_.agents; ++i) {
    add_agent();
  }
}

std::int64_t model::now_ms() const {
  return system_now_ms() + offset_ms_;
}

void model::advance(std::int64_t ms) {
  if (ms > 0) {
    offset_ms_ += ms;
  }
  tick();
}

void model::tick() {
  if (!heartbeats_) {
    return;
  }
  const std::int64_t now = now_ms();
  for (auto& a : agents_) {
    if (!a.last_event_ms) {
      continue;
    }
    // Heartbeats run while logged in and up to an hour after logout.
    const std::int64_t until =
      a.logged_in ? now
                  : std::min(now, *a.logout_ms + heartbeat_after_logout_ms);
    int emitted = 0;
    while (*a.last_event_ms + heartbeat_ms <= until) {
      if (++emitted > 40) {
        // A long jump: skip ahead rather than flood the stream.
        a.last_event_ms = until - heartbeat_ms;
      }
      const std::string snap = snapshot(a);
      emit(a, "HEART_BEAT", snap, *a.last_event_ms + heartbeat_ms);
    }
  }
}

std::string model::instance_arn() const {
  return "arn:aws:connect:" + cfg_.region + ":" + cfg_.account_id +
         ":instance/" + cfg_.instance_id;
}

std::string model::agent_arn(const agent& a) const {
  return instance_arn() + "/agent/" + a.id;
}

std::string model::status_arn(const status_def& s) const {
  return instance_arn() + "/agent-state/" + s.id;
}

std::string model::queue_arn(std::string_view queue_id) const {
  return instance_arn() + "/queue/" + std::string(queue_id);
}

std::string model::routing_profile_id() const {
  return "22222222-2222-4222-8222-222222222222";
}

std::string model::routing_profile_arn() const {
  return instance_arn() + "/routing-profile/" + routing_profile_id();
}

std::string model::group_arn(std::string_view group_id) const {
  return instance_arn() + "/agent-group/" + std::string(group_id);
}

std::optional<std::size_t> model::find_status(std::string_view key) const {
  for (std::size_t i = 0; i < statuses_.size(); ++i) {
    const auto& s = statuses_[i];
    if (s.id == key || status_arn(s) == key || iequals(s.name, key)) {
      return i;
    }
  }
  return std::nullopt;
}

agent* model::find_agent(std::string_view key) {
  const std::string id =
    key.starts_with("arn:") ? last_segment(key) : std::string(key);
  for (auto& a : agents_) {
    if (a.id == id || iequals(a.username, key)) {
      return &a;
    }
  }
  return nullptr;
}

const agent* model::find_agent(std::string_view key) const {
  return const_cast<model*>(this)->find_agent(key);
}

agent& model::add_agent() {
  static constexpr const char* first_names[] = {
    "Jane", "John",  "Maria", "Ahmed", "Li",
    "Olga", "Kwame", "Sofia", "Ravi",  "Emma"};
  static constexpr const char* last_names[] = {
    "Doe",    "Roe",   "Garcia", "Khan",  "Wei",   "Petrova",
    "Mensah", "Rossi", "Patel",  "Novak", "Smith", "Berg"};
  const std::size_t n = agents_.size() + 1;
  agent a;
  char buf[64];
  std::snprintf(buf, sizeof buf, "11111111-1111-4111-8111-%012zu", n);
  a.id = buf;
  std::snprintf(buf, sizeof buf, "agent%04zu@example.com", n);
  a.username = buf;
  a.email = buf;
  a.first_name = first_names[(n - 1) % std::size(first_names)];
  a.last_name =
    last_names[(n - 1) / std::size(first_names) % std::size(last_names)];
  a.phone_type = n % 2 == 0 ? "DESK_PHONE" : "SOFT_PHONE";
  std::snprintf(buf, sizeof buf, "+1555%07zu", 100000 + n);
  a.did = buf;
  a.modified_ms = 1740700800000 + static_cast<std::int64_t>(n) * 1000;
  a.status = 1;
  a.status_start_ms = a.modified_ms;
  agents_.push_back(std::move(a));
  return agents_.back();
}

bool model::busy(const agent& a) {
  return std::any_of(a.contacts.begin(), a.contacts.end(),
                     [](const auto& c) { return !is_terminal_miss(c.state); });
}

std::string model::effective_state(const agent& a,
                                   const std::vector<status_def>& statuses) {
  if (!a.logged_in) {
    return "logged_out";
  }
  auto has = [&](std::initializer_list<std::string_view> states) {
    return std::any_of(a.contacts.begin(), a.contacts.end(), [&](auto& c) {
      return std::find(states.begin(), states.end(), c.state) != states.end();
    });
  };
  if (has({"CONNECTED", "CONNECTED_ONHOLD"})) {
    return "on_call";
  }
  if (has({"INCOMING", "PENDING", "CONNECTING"})) {
    return "incoming";
  }
  if (has({"ENDED"})) {
    return "after_contact_work";
  }
  if (has({"MISSED", "REJECTED", "ERROR"})) {
    return "missed";
  }
  const std::string& type = statuses[a.status].type;
  if (type == "ROUTABLE") {
    return "available";
  }
  if (type == "CUSTOM") {
    return "custom";
  }
  return "offline";
}

std::string model::snapshot(const agent& a) const {
  const status_def& s = statuses_[a.status];
  json_out j;
  j.begin_object();
  j.key("AgentStatus").begin_object();
  j.key("ARN").string(status_arn(s));
  j.key("Name").string(s.name);
  j.key("StartTimestamp").string(iso_ms(a.status_start_ms));
  j.key("Type").string(s.type);
  j.end_object();
  if (a.next_status) {
    const status_def& next = statuses_[*a.next_status];
    j.key("NextAgentStatus").begin_object();
    j.key("ARN").string(status_arn(next));
    j.key("Name").string(next.name);
    j.key("EnqueuedTimestamp").string(iso_ms(a.next_enqueued_ms));
    j.end_object();
  }

  const bool voice_busy =
    std::any_of(a.contacts.begin(), a.contacts.end(),
                [](auto& c) { return c.channel == "VOICE"; });
  j.key("Configuration").begin_object();
  j.key("AgentHierarchyGroups").begin_object();
  j.key("Level1").begin_object();
  j.key("ARN").string(group_arn(group1_id));
  j.key("Name").string("Example Region");
  j.end_object();
  j.key("Level2").begin_object();
  j.key("ARN").string(group_arn(group2_id));
  j.key("Name").string("Example Team");
  j.end_object();
  j.key("Level3").null().key("Level4").null().key("Level5").null();
  j.end_object();
  j.key("FirstName").string(a.first_name);
  j.key("LastName").string(a.last_name);
  j.key("Username").string(a.username);
  j.key("Proficiencies").begin_array().begin_object();
  j.key("Level").number(3.0).key("Name").string("Language");
  j.key("Value").string("English");
  j.end_object().end_array();
  j.key("RoutingProfile").begin_object();
  j.key("ARN").string(routing_profile_arn());
  j.key("Name").string("Example Routing Profile");
  j.key("Concurrency").begin_array();
  j.begin_object().key("AvailableSlots").number(std::int64_t{3});
  j.key("Channel").string("CHAT").key("MaximumSlots").number(std::int64_t{3});
  j.end_object();
  j.begin_object()
    .key("AvailableSlots")
    .number(std::int64_t{voice_busy ? 0 : 1});
  j.key("Channel").string("VOICE").key("MaximumSlots").number(std::int64_t{1});
  j.end_object();
  j.end_array();
  j.key("DefaultOutboundQueue").begin_object();
  j.key("ARN").string(queue_arn(outbound_queue_id));
  j.key("Name").string("ExampleOutboundQueue");
  j.key("Channels").begin_array().string("VOICE").end_array();
  j.end_object();
  j.key("InboundQueues").begin_array();
  j.begin_object().key("ARN").string(instance_arn() + "/queue/agent/" + a.id);
  j.key("Channels").begin_array().string("VOICE").string("CHAT").end_array();
  j.key("Name").null().end_object();
  j.begin_object().key("ARN").string(queue_arn(inbound_queue_id));
  j.key("Name").string("ExampleSupportQueue");
  j.key("Channels").begin_array().string("VOICE").string("CHAT").end_array();
  j.end_object();
  j.end_array();
  j.end_object(); // RoutingProfile
  j.end_object(); // Configuration

  j.key("Contacts").begin_array();
  for (const auto& c : a.contacts) {
    j.begin_object();
    j.key("Channel").string(c.channel);
    j.key("ConnectedToAgentTimestamp");
    if (c.connected_ms) {
      j.string(iso_ms(*c.connected_ms));
    } else {
      j.null();
    }
    j.key("ContactId").string(c.id);
    j.key("InitialContactId").null();
    j.key("InitiationMethod").string(c.initiation);
    j.key("Queue").begin_object();
    j.key("ARN").string(queue_arn(c.queue_id));
    j.key("Name").string(c.queue_id == outbound_queue_id
                           ? "ExampleOutboundQueue"
                           : "ExampleSupportQueue");
    j.end_object();
    j.key("QueueTimestamp");
    if (c.queue_ms) {
      j.string(iso_ms(*c.queue_ms));
    } else {
      j.null();
    }
    j.key("State").string(c.state);
    j.key("StateStartTimestamp").string(iso_ms(c.state_start_ms));
    j.end_object();
  }
  j.end_array();
  j.end_object();
  return j.str();
}

std::string model::make_uuid() {
  const std::uint64_t hi = rng_();
  const std::uint64_t lo = rng_();
  char buf[40];
  std::snprintf(
    buf, sizeof buf, "%08x-%04x-4%03x-%x%03x-%012llx",
    static_cast<unsigned>(hi >> 32), static_cast<unsigned>(hi >> 16 & 0xffff),
    static_cast<unsigned>(hi & 0xfff), static_cast<unsigned>(8 + (lo >> 62)),
    static_cast<unsigned>(lo >> 48 & 0xfff),
    static_cast<unsigned long long>(lo & 0xffffffffffffULL));
  return buf;
}

void model::emit(agent& a, std::string_view type,
                 const std::optional<std::string>& previous,
                 std::int64_t at_ms) {
  json_out j;
  j.begin_object();
  j.key("AWSAccountId").string(cfg_.account_id);
  j.key("AgentARN").string(agent_arn(a));
  j.key("CurrentAgentSnapshot").raw(snapshot(a));
  j.key("EventId").string(make_uuid());
  j.key("EventTimestamp").string(iso_ms(at_ms));
  j.key("EventType").string(type);
  j.key("InstanceARN").string(instance_arn());
  if (previous) {
    j.key("PreviousAgentSnapshot").raw(*previous);
  }
  j.key("Version").string("2019-05-25");
  j.end_object();
  events_.push_back({events_.size() + 1, a.id, std::string(type), j.str()});
  a.last_event_ms = at_ms;
}

void model::apply_next_status_if_clear(agent& a) {
  if (busy(a) || !a.next_status) {
    return;
  }
  a.status = *a.next_status;
  a.status_start_ms = now_ms();
  a.next_status.reset();
}

change_result model::login(std::string_view agent_key,
                           std::optional<std::size_t> status) {
  agent* a = find_agent(agent_key);
  if (!a) {
    return change_error{404, "ResourceNotFoundException",
                        "no agent '" + std::string(agent_key) + "'"};
  }
  if (a->logged_in) {
    return change_error{409, "Conflict", "agent already logged in"};
  }

  // LOGIN arrives while the agent is still Offline; the status change to
  // the chosen status follows as a STATE_CHANGE (fixtures show this order).
  const std::int64_t now = now_ms();
  a->logged_in = true;
  a->logout_ms.reset();
  a->status = 1;
  a->next_status.reset();
  emit(*a, "LOGIN", std::nullopt, now);
  const std::size_t target = status.value_or(0);
  if (target != a->status) {
    const std::string before = snapshot(*a);
    a->status = target;
    a->status_start_ms = now;
    emit(*a, "STATE_CHANGE", before, now);
  }
  return std::nullopt;
}

change_result model::logout(std::string_view agent_key) {
  agent* a = find_agent(agent_key);
  if (!a) {
    return change_error{404, "ResourceNotFoundException",
                        "no agent '" + std::string(agent_key) + "'"};
  }
  if (!a->logged_in) {
    return change_error{409, "Conflict", "agent is not logged in"};
  }
  if (busy(*a)) {
    return change_error{409, "Conflict",
                        "agent holds a contact; end and clear it first"};
  }
  const std::int64_t now = now_ms();
  a->contacts.clear();
  a->next_status.reset();
  if (a->status != 1) {
    a->status = 1;
    a->status_start_ms = now;
  }
  a->logged_in = false;
  a->logout_ms = now;
  emit(*a, "LOGOUT", std::nullopt, now);
  return std::nullopt;
}

change_result model::set_status(std::string_view agent_key, std::size_t status,
                                std::string& applied) {
  agent* a = find_agent(agent_key);
  if (!a) {
    return change_error{404, "ResourceNotFoundException",
                        "User not found: '" + std::string(agent_key) + "'"};
  }
  const std::int64_t now = now_ms();
  const std::string before = snapshot(*a);

  // While handling a contact Connect only queues the next status
  // (spec 2.2 PutUserStatus); a missed contact does not count as busy and
  // is cleared by choosing a status.
  if (busy(*a)) {
    a->next_status = status;
    a->next_enqueued_ms = now;
    applied = "next";
  } else {
    const bool had_missed = !a->contacts.empty();
    a->contacts.clear();
    a->next_status.reset();
    if (a->status == status && !had_missed) {
      applied = "unchanged";
      return std::nullopt;
    }
    if (a->status != status) {
      a->status = status;
      a->status_start_ms = now;
    }
    applied = "current";
  }
  emit(*a, "STATE_CHANGE", before, now);
  return std::nullopt;
}

change_result model::offer_contact(std::string_view agent_key, contact c,
                                   std::string& contact_id) {
  agent* a = find_agent(agent_key);
  if (!a) {
    return change_error{404, "ResourceNotFoundException",
                        "no agent '" + std::string(agent_key) + "'"};
  }
  if (!a->logged_in) {
    return change_error{409, "Conflict", "agent is not logged in"};
  }
  const bool voice_taken =
    std::any_of(a->contacts.begin(), a->contacts.end(),
                [&](auto& x) { return x.channel == c.channel; });
  if (voice_taken) {
    return change_error{409, "Conflict",
                        "agent already holds a " + c.channel + " contact"};
  }
  if (c.initiation == "INBOUND" && statuses_[a->status].type != "ROUTABLE") {
    return change_error{409, "Conflict",
                        "inbound contacts are only routed to an agent in a "
                        "ROUTABLE status"};
  }
  const std::int64_t now = now_ms();
  const std::string before = snapshot(*a);
  if (c.id.empty()) {
    c.id = make_uuid();
  }
  if (c.queue_id.empty()) {
    c.queue_id = c.initiation == "OUTBOUND" ? std::string(outbound_queue_id)
                                            : std::string(inbound_queue_id);
  }
  c.state = "CONNECTING";
  c.state_start_ms = now;
  if (!c.queue_ms && c.initiation != "OUTBOUND") {
    c.queue_ms = now;
  }
  contact_id = c.id;
  a->contacts.push_back(std::move(c));
  emit(*a, "STATE_CHANGE", before, now);
  return std::nullopt;
}

change_result model::contact_action(std::string_view agent_key,
                                    std::string_view contact_id,
                                    std::string_view action) {
  agent* a = find_agent(agent_key);
  if (!a) {
    return change_error{404, "ResourceNotFoundException",
                        "no agent '" + std::string(agent_key) + "'"};
  }
  auto it = std::find_if(a->contacts.begin(), a->contacts.end(),
                         [&](auto& c) { return c.id == contact_id; });
  if (it == a->contacts.end()) {
    return change_error{404, "ResourceNotFoundException",
                        "agent holds no contact '" + std::string(contact_id) +
                          "'"};
  }

  // Allowed moves: from-states per action.
  struct move {
    std::string_view action;
    std::initializer_list<std::string_view> from;
    std::string_view to;
  };
  static const move moves[] = {
    {"connect", {"CONNECTING", "INCOMING", "PENDING"}, "CONNECTED"},
    {"hold", {"CONNECTED"}, "CONNECTED_ONHOLD"},
    {"resume", {"CONNECTED_ONHOLD"}, "CONNECTED"},
    {"end", {"CONNECTED", "CONNECTED_ONHOLD"}, "ENDED"},
    {"miss", {"CONNECTING", "INCOMING", "PENDING"}, "MISSED"},
    {"reject", {"CONNECTING", "INCOMING", "PENDING"}, "REJECTED"},
    {"error", {"CONNECTING", "CONNECTED"}, "ERROR"},
    {"clear", {"ENDED", "MISSED", "REJECTED", "ERROR"}, ""}};
  const move* m = nullptr;
  for (const auto& candidate : moves) {
    if (candidate.action == action) {
      m = &candidate;
    }
  }
  if (!m) {
    return change_error{400, "BadRequest",
                        "unknown contact action '" + std::string(action) +
                          "' (connect, hold, resume, end, miss, reject, "
                          "error, clear)"};
  }
  if (std::find(m->from.begin(), m->from.end(), it->state) == m->from.end()) {
    return change_error{409, "Conflict",
                        "cannot " + std::string(action) + " a contact in " +
                          it->state};
  }

  const std::int64_t now = now_ms();
  const std::string before = snapshot(*a);
  if (m->to.empty()) {
    a->contacts.erase(it);
    apply_next_status_if_clear(*a);
  } else {
    it->state = std::string(m->to);
    it->state_start_ms = now;
    if (action == "connect") {
      it->connected_ms = now;
    }
  }
  emit(*a, "STATE_CHANGE", before, now);
  return std::nullopt;
}

} // namespace presync::connect_emulator
