#include "app/tenant_directory.hpp"

#include "actors/clock.hpp"
#include "actors/messages.hpp"
#include "adapters/connect/connect_client.hpp"
#include "adapters/log/log.hpp"

namespace presync::app {

namespace {

const log::logger& logger() {
  static const log::logger l{"directory"};
  return l;
}

/// Hashes everything a reader of the directory sees except live state.
uint64_t fingerprint(const directory_snapshot& snap) {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&h](std::string_view s) {
    for (char c : s) {
      h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
    }
    h = (h ^ 0xffu) * 1099511628211ull;
  };
  for (const auto& p : snap.people()) {
    for (const auto* f :
         {&p.id, &p.display_name, &p.email, &p.graph_id, &p.upn, &p.agent_id,
          &p.agent_arn, &p.username, &p.number, &p.extension, &p.number_source,
          &p.not_dialable_reason}) {
      mix(*f);
    }
  }
  for (const auto& problem : snap.problems()) {
    mix(problem);
  }
  for (const auto& [key, r] : snap.routes()) {
    mix(r.number);
    mix(r.extension);
    mix(r.agent_id);
    mix(r.person);
  }
  return h;
}

} // namespace

tenant_directory::tenant_directory(std::string tenant,
                                   const config::connect_config& connect,
                                   size_t event_capacity)
  : tenant_(std::move(tenant)), instance_id_(connect.instance_id),
    board_(event_capacity), contact_flow_id_(connect.outbound_contact_flow_id),
    queue_id_(connect.outbound_queue_id) {
  if (connect.did_mapping_file.empty()) {
    return;
  }

  // The loader validated the file; a problem now means it changed since.
  auto text = config::read_text_file(connect.did_mapping_file);
  if (!text) {
    logger().error(
      "did_mapping_unreadable",
      {log::kv("tenant", tenant_), log::kv("file", connect.did_mapping_file)});
    return;
  }
  auto parsed = config::parse_did_mapping(*text);
  for (const auto& problem : parsed.problems) {
    logger().error("did_mapping_invalid",
                   {log::kv("tenant", tenant_), log::kv("detail", problem)});
  }
  did_mapping_ = std::move(parsed.entries);
}

std::string tenant_directory::contact_flow_id() const {
  std::lock_guard guard{mutex_};
  return contact_flow_id_;
}

std::string tenant_directory::queue_id() const {
  std::lock_guard guard{mutex_};
  return queue_id_;
}

void tenant_directory::set_calls(const config::connect_config& connect) {
  std::lock_guard guard{mutex_};
  contact_flow_id_ = connect.outbound_contact_flow_id;
  queue_id_ = connect.outbound_queue_id;
}

std::shared_ptr<const directory_snapshot> tenant_directory::snapshot() const {
  std::lock_guard guard{mutex_};
  return snapshot_;
}

void tenant_directory::ask_person(
  const std::string& person,
  std::function<void(expected<person_detail>)> done) const {
  person_query_fn query;
  {
    std::lock_guard guard{mutex_};
    query = person_query_;
  }
  if (!query) {
    done(make_error(sync_error::unavailable, "the tenant is starting"));
    return;
  }
  query(person, std::move(done));
}

expected<std::string>
tenant_directory::dial(const connect::outbound_voice_contact& call) const {
  dial_fn dialer;
  {
    std::lock_guard guard{mutex_};
    dialer = dialer_;
  }
  if (!dialer) {
    return make_error(sync_error::unavailable, "the tenant is starting");
  }
  return dialer(call);
}

void tenant_directory::publish(std::shared_ptr<const directory_snapshot> snap) {
  auto version = snap->version();
  auto people = snap->people().size();
  {
    std::lock_guard guard{mutex_};
    snapshot_ = std::move(snap);
  }
  board_.on_directory(version, people);
}

void tenant_directory::set_person_query(person_query_fn f) {
  std::lock_guard guard{mutex_};
  person_query_ = std::move(f);
}

void tenant_directory::set_dialer(dial_fn f) {
  std::lock_guard guard{mutex_};
  dialer_ = std::move(f);
}

void tenant_directory::seed(const person_init& init) {
  live_state s;
  if (init.has_teams) {
    s.teams = init.teams_presence;
  }
  if (init.has_connect) {
    s.connect_state = init.connect_state;
  }
  board_.seed(init.id, std::move(s));
}

void tenant_directory::on_connect_users(
  const std::vector<connect::user_summary>& users) {
  std::set<std::string> listed;
  for (const auto& u : users) {
    listed.insert(u.id);
    auto& info = connect_users_[u.id];
    bool changed =
      !info.details || info.summary.last_modified_ms != u.last_modified_ms;
    info.summary = u;
    if (changed && queued_.insert(u.id).second) {
      describe_queue_.push_back(u.id);
    }
  }
  std::erase_if(connect_users_,
                [&](const auto& kv) { return listed.count(kv.first) == 0; });
}

void tenant_directory::remember(const connect::user_details& details) {
  auto i = connect_users_.find(details.id);
  if (i != connect_users_.end()) {
    i->second.details = details;
  }
}

bool tenant_directory::describe_some(connect::connect_client& client,
                                     size_t max) {
  bool changed = false;
  for (size_t n = 0; n < max && !describe_queue_.empty(); ++n) {
    auto id = describe_queue_.front();
    auto user = connect_users_.find(id);
    if (user == connect_users_.end()) {
      describe_queue_.pop_front();
      queued_.erase(id);
      continue;
    }
    auto reply = client.call(connect::build_describe_user(instance_id_, id));

    // No token from the tenant's limiter, or Connect throttled: the user
    // stays first in line for the next tick.
    if (!reply && reply.err().code == sync_error::throttled) {
      break;
    }
    if (reply && reply->status == 429) {
      break;
    }
    describe_queue_.pop_front();
    queued_.erase(id);
    if (!reply || reply->status != 200) {
      // TODO: a user whose DescribeUser keeps failing (404 after a
      // delete, 403 on a narrowed policy) is asked again only when the
      // next ListUsers shows it changed; a retry budget per user would
      // let transient failures heal sooner.
      logger().warning(
        "describe_user_failed",
        {log::kv("tenant", tenant_), log::kv("user", id),
         log::kv("error", reply ? error_of("DescribeUser", *reply).describe()
                                : reply.err().describe())});
      continue;
    }
    auto details = connect::parse_describe_user(reply->body);
    if (!details) {
      logger().warning("describe_user_malformed",
                       {log::kv("tenant", tenant_), log::kv("user", id),
                        log::kv("error", details.err().describe())});
      continue;
    }
    user->second.details = std::move(*details);
    changed = true;
  }
  return changed;
}

size_t tenant_directory::undescribed() const {
  return describe_queue_.size();
}

void tenant_directory::rebuild(
  const std::map<std::string, graph::directory_entry>& teams,
  const std::vector<teams_account>& teams_accounts,
  const std::vector<connect_account>& agents, const identity_result& people) {
  directory_inputs in;
  in.teams_entries = teams;
  in.teams = teams_accounts;
  in.agents = agents;
  in.people = people;
  in.connect_users = connect_users_;
  in.did_mapping = did_mapping_;
  auto snap = build_directory_snapshot(in, version_ + 1);

  // A round that changed nothing a reader sees keeps the old snapshot, so
  // clients are not told to reload for nothing.
  auto print = fingerprint(*snap);
  if (snapshot() && print == fingerprint_) {
    return;
  }
  fingerprint_ = print;
  ++version_;
  board_.retain(
    [&snap](const std::string& id) { return snap->find(id) != nullptr; });

  for (const auto& problem : snap->problems()) {
    if (known_problems_.insert(problem).second) {
      logger().warning("route_table_problem", {log::kv("tenant", tenant_),
                                               log::kv("detail", problem)});
    }
  }
  logger().debug("directory_published",
                 {log::kv("tenant", tenant_), log::kv("version", version_),
                  log::kv("people", snap->people().size()),
                  log::kv("routes", snap->route_count()),
                  log::kv("undescribed", describe_queue_.size())});
  publish(std::move(snap));
}

// -- wiring to actors and Connect
// ----------------------------------------------

namespace {

/// A short-lived actor asking for one person's view, then journal.
/// Everything comes in as spawn arguments: CAF 0.17 binds a reference to
/// a null pointer when a function actor is spawned with none (UBSan).
void ask_person_actor(caf::event_based_actor* self, caf::actor supervisor,
                      std::string person, std::chrono::milliseconds timeout,
                      std::function<void(expected<person_detail>)> done) {
  auto fail = [done](const caf::error& e) {
    // The supervisor answers invalid_argument for a person it does not
    // know (or that has not started yet); anything else is a timeout or a
    // supervisor that is gone.
    auto code = e == caf::sec::invalid_argument ? sync_error::not_found
                                                : sync_error::unavailable;
    done(make_error(code, "person actor: " + caf::to_string(e)));
  };
  self
    ->request(supervisor, timeout, caf::get_atom::value,
              actors::view_atom::value, person)
    .then(
      [self, supervisor, person, timeout, done, fail](const person_view& view) {
        self
          ->request(supervisor, timeout, caf::get_atom::value,
                    actors::journal_atom::value, person)
          .then(
            [self, view, done](const actors::journal_entries& j) {
              done(person_detail{view, j.entries, actors::now_of(self)});
            },
            fail);
      },
      fail);
}

} // namespace

person_query_fn make_person_query(caf::actor_system& sys, caf::actor supervisor,
                                  std::chrono::milliseconds timeout) {
  return [&sys, supervisor,
          timeout](const std::string& person,
                   std::function<void(expected<person_detail>)> done) {
    sys.spawn(ask_person_actor, supervisor, person, timeout, std::move(done));
  };
}

dial_fn make_connect_dialer(connect::connect_client& client) {
  return
    [&client](
      const connect::outbound_voice_contact& call) -> expected<std::string> {
      auto request = connect::build_start_outbound_voice_contact(call);
      if (!request) {
        return request.err();
      }
      auto reply = client.call(*request);
      if (!reply) {
        return reply.err();
      }
      if (reply->status < 200 || reply->status > 299) {
        return connect::error_of("StartOutboundVoiceContact", *reply);
      }
      return connect::parse_start_outbound_voice_contact(reply->body);
    };
}

} // namespace presync::app
