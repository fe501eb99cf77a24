#include "app/demo_cmd.hpp"

#include "adapters/http/client.hpp"
#include "app/child_process.hpp"
#include "app/demo_sources.hpp"
#include "config/config.hpp"
#include "protocol/json_text.hpp"
#include "sim/demo_report.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <cinttypes>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <unordered_map>

#ifndef PRESYNC_SOURCE_DIR
#error "PRESYNC_SOURCE_DIR must name the source tree (for kinesalite.js)"
#endif

namespace presync::app {

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

constexpr const char* usage = R"(usage: presync demo [OPTIONS]

Runs a live contact centre on the built-in emulators: starts kinesalite,
the Connect and Graph emulators and `presync run` on 127.0.0.1, creates
the agents (Teams and Connect) and office users (Teams only), drives calls,
statuses, meetings and DoNotDisturb in real time, lets the world settle and
reports whether every person agrees with the maps. Everything it starts is
stopped again on exit and on Ctrl-C.

  --agents N          agents, in Teams and Connect (200)
  --office-users N    office users, in Teams only (800)
  --duration D        how long activity starts, e.g. 60s, 10m (3m); running
                      calls end and the world settles after it
  --seed N            seed of the workload (1)
  --call-interval D   mean idle time before an agent's next call (60s)
  --handle-time D     mean talk time (45s)
  --wrap-time D       mean after-contact work (15s)
  --report FILE       also write the report as JSON to FILE
  --work-dir DIR      config, logs and state go here (a fresh folder
                      under /tmp)
  --bin-dir DIR       where the emulators are (beside this binary)
  --no-presync        debugging: run the emulators and the workload
                      without presync (the report then fails)
  --help              show this text

Exit status: 0 when everyone is consistent, no write was redundant and no
change shorter than min_hold was propagated; 1 otherwise or when a child
does not start; 2 for bad flags; 130 when interrupted.
)";

// -- signals ------------------------------------------------------------------

std::atomic<int> caught_signal{0};

extern "C" void on_signal(int sig) {
  caught_signal.store(sig);
}

bool interrupted() {
  return caught_signal.load() != 0;
}

void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0; // no SA_RESTART: a sleep ends early
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

/// Sleeps until `until`, waking early when a signal arrived.
void sleep_until(steady::time_point until) {
  while (!interrupted()) {
    const auto now = steady::now();
    if (now >= until) {
      return;
    }
    std::this_thread::sleep_for(std::min<steady::duration>(until - now, 50ms));
  }
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

double seconds(steady::duration d) {
  return std::chrono::duration<double>(d).count();
}

// -- flags --------------------------------------------------------------------

bool parse_int(std::string_view text, long long lo, long long hi,
               long long& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && end == text.data() + text.size() && out >= lo &&
         out <= hi;
}

// -- HTTP ---------------------------------------------------------------------

/// Blocking calls to the emulators and presync on loopback.
class world_http {
 public:
  explicit world_http(std::unique_ptr<http::client> c)
    : client_(std::move(c)) {}

  /// Sends one request. An idempotent one (GET, PUT, DELETE) is tried up
  /// to three times on a transport error: the emulators close connections
  /// idle for 60 s, and a pooled one can meet that close mid-request.
  expected<http::http_response> call(std::string method, std::string url,
                                     std::string body = {},
                                     duration timeout = 30s) {
    const bool again = http::is_idempotent(method);
    auto request = make(std::move(method), std::move(url), std::move(body));
    for (int attempt = 1;; ++attempt) {
      auto r = client_->send(request, options(timeout));
      if (r || !again || attempt == 3 || !transport_error(r.err())) {
        return r;
      }
      std::this_thread::sleep_for(100ms * attempt);
    }
  }

  /// Sends every request with up to `window` in flight; answers in order.
  std::vector<expected<http::http_response>>
  call_all(std::vector<http::http_request> requests, std::size_t window = 4) {
    std::vector<std::optional<expected<http::http_response>>> answers(
      requests.size());
    const std::vector<http::http_request> copies = requests;
    std::mutex m;
    std::condition_variable cv;
    std::size_t in_flight = 0;
    for (std::size_t i = 0; i < requests.size(); ++i) {
      {
        std::unique_lock lock(m);
        cv.wait(lock, [&] { return in_flight < window; });
        ++in_flight;
      }
      client_->async_send(std::move(requests[i]), options(30s),
                          [&, i](expected<http::http_response> r) {
                            std::lock_guard lock(m);
                            answers[i].emplace(std::move(r));
                            --in_flight;
                            cv.notify_all();
                          });
    }
    std::unique_lock lock(m);
    cv.wait(lock, [&] { return in_flight == 0; });
    lock.unlock();
    std::vector<expected<http::http_response>> out;
    out.reserve(answers.size());
    for (std::size_t i = 0; i < answers.size(); ++i) {
      auto& a = *answers[i];
      if (!a && http::is_idempotent(copies[i].method) &&
          transport_error(a.err())) {
        out.push_back(call(copies[i].method, copies[i].url, copies[i].body));
      } else {
        out.push_back(std::move(a));
      }
    }
    return out;
  }

  static http::http_request make(std::string method, std::string url,
                                 std::string body = {}) {
    http::http_request r;
    r.method = std::move(method);
    r.url = std::move(url);
    if (!body.empty()) {
      r.headers.set("Content-Type", "application/json");
    }
    r.body = std::move(body);
    return r;
  }

 private:
  static bool transport_error(const error& e) {
    return e.code == sync_error::unavailable ||
           e.code == sync_error::connection_failed ||
           e.code == sync_error::timeout;
  }

  static http::request_options options(duration timeout) {
    http::request_options o;
    o.connect_timeout = 5s;
    o.read_timeout = timeout;
    o.total_timeout = timeout + 5s;
    o.max_response_bytes = 512 * 1024 * 1024;
    return o;
  }

  std::unique_ptr<http::client> client_;
};

/// Returns the body of a 2xx answer, or an error naming `what`.
expected<std::string> body_of(expected<http::http_response> r,
                              std::string_view what) {
  if (!r) {
    return make_error(r.err().code,
                      std::string{what} + ": " + r.err().describe());
  }
  if (r->status < 200 || r->status >= 300) {
    return make_error(sync_error::rejected,
                      std::string{what} + ": HTTP " +
                        std::to_string(r->status) + " " +
                        r->body.substr(0, 200),
                      r->status);
  }
  return std::move(r->body);
}

/// Binds 127.0.0.1:0, reads the port the kernel chose and closes it again.
std::uint16_t free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return 0;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  std::uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

std::string random_hex(std::size_t bytes) {
  std::random_device rd;
  std::string out;
  constexpr char digits[] = "0123456789abcdef";
  for (std::size_t i = 0; i < bytes; ++i) {
    const auto b = static_cast<unsigned>(rd()) & 0xffu;
    out += digits[b >> 4];
    out += digits[b & 0xfu];
  }
  return out;
}

// -- the world ----------------------------------------------------------------

/// The processes the demo started and where they listen.
struct world {
  std::optional<child_process> kinesalite;
  std::optional<child_process> graph;
  std::optional<child_process> connect;
  std::optional<child_process> presync;
  demo_endpoints ends;

  std::string graph_url() const {
    return "http://127.0.0.1:" + std::to_string(ends.graph_port);
  }
  std::string connect_url() const {
    return "http://127.0.0.1:" + std::to_string(ends.connect_port);
  }
  std::string api_url() const {
    return "http://127.0.0.1:" + std::to_string(ends.api_port);
  }
  std::string metrics_url() const {
    return "http://127.0.0.1:" + std::to_string(ends.metrics_port) + "/metrics";
  }

  /// Stops presync first (so it drains while the emulators still answer),
  /// then the emulators together.
  void stop() {
    if (presync) {
      presync->stop(5s);
    }
    std::vector<child_process*> rest;
    for (auto* c : {&connect, &graph, &kinesalite}) {
      if (*c) {
        rest.push_back(&**c);
      }
    }
    stop_all(rest, 5s);
  }

  ~world() { stop(); }

  /// Returns a description of the first child that is no longer running.
  std::optional<std::string> dead_child() {
    for (auto* c : {&kinesalite, &graph, &connect, &presync}) {
      if (*c && !(*c)->running()) {
        return (*c)->name() + " exited (" +
               (*c)->exit_description().value_or("?") + "); its output:\n" +
               (*c)->stderr_tail(15);
      }
    }
    return std::nullopt;
  }
};

child_spec spec_for(const std::string& name, std::vector<std::string> argv,
                    const std::string& dir) {
  child_spec s;
  s.name = name;
  s.argv = std::move(argv);
  s.stdout_file = dir + "/" + name + ".out";
  s.stderr_file = dir + "/" + name + ".err";
  return s;
}

/// Waits for a child's "listening HOST:PORT" line and returns the port.
expected<std::uint16_t> wait_listening(child_process& c) {
  auto line = c.first_line(30s);
  if (!line) {
    return line.err();
  }
  const auto port = demo::listening_port(*line);
  if (port == 0) {
    return make_error(sync_error::malformed,
                      c.name() + " printed '" + *line +
                        "' instead of 'listening HOST:PORT'");
  }
  return port;
}

/// Starts kinesalite and the two emulators.
std::optional<std::string> start_emulators(world& w, const demo_options& o,
                                           const std::string& bin_dir) {
  const auto& dir = w.ends.work_dir;
  const std::string kinesalite_js =
    std::string{PRESYNC_SOURCE_DIR} + "/emulators/kinesis/kinesalite.js";

  auto k = child_process::start(
    spec_for("kinesalite", {"node", kinesalite_js, "0"}, dir));
  if (!k) {
    return k.err().context;
  }
  w.kinesalite.emplace(std::move(*k));

  auto g_spec = spec_for("graph-emulator",
                         {bin_dir + "/presync-graph-emulator", "--listen",
                          "127.0.0.1:0", "--users", "0"},
                         dir);
  g_spec.env = {"PRESYNC_GRAPH_EMULATOR_CLIENT_SECRET=emulator-secret"};
  auto g = child_process::start(std::move(g_spec));
  if (!g) {
    return g.err().context;
  }
  w.graph.emplace(std::move(*g));

  auto kport = wait_listening(*w.kinesalite);
  if (!kport) {
    return kport.err().context;
  }
  w.ends.kinesis_port = *kport;

  auto c = child_process::start(spec_for(
    "connect-emulator",
    {bin_dir + "/presync-connect-emulator", "--listen", "127.0.0.1:0",
     "--agents", std::to_string(o.workload.agents), "--kinesis-endpoint",
     "http://127.0.0.1:" + std::to_string(*kport)},
    dir));
  if (!c) {
    return c.err().context;
  }
  w.connect.emplace(std::move(*c));

  auto gport = wait_listening(*w.graph);
  if (!gport) {
    return gport.err().context;
  }
  w.ends.graph_port = *gport;
  auto cport = wait_listening(*w.connect);
  if (!cport) {
    return cport.err().context;
  }
  w.ends.connect_port = *cport;
  return std::nullopt;
}

// -- people -------------------------------------------------------------------

struct people {
  std::vector<sim::demo_person> persons; ///< agents first, then office users
  std::vector<std::string> agent_keys;   ///< Connect usernames, by agent
  std::int64_t signed_in_ms = 0;         ///< Teams clients went Available
};

std::string user_body(std::string_view display, std::string_view address,
                      std::string_view phone) {
  std::string b = "{\"displayName\":";
  append_json_string(b, display);
  b += ",\"mail\":";
  append_json_string(b, address);
  b += ",\"userPrincipalName\":";
  append_json_string(b, address);
  b += ",\"businessPhones\":[";
  append_json_string(b, phone);
  b += "],\"accountEnabled\":true,\"licensed\":true}";
  return b;
}

std::string numbered(const char* fmt, int n) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, n);
  return buf;
}

/// Creates every person in Graph (agents also exist in Connect already)
/// and signs their Teams clients in as Available.
expected<people> create_people(world_http& http, const world& w,
                               const demo_options& o) {
  auto listed = body_of(http.call("GET", w.connect_url() + "/_control/agents"),
                        "Connect agents");
  if (!listed) {
    return listed.err();
  }
  auto agents = demo::parse_agents(*listed);
  if (!agents) {
    return agents.err();
  }
  if (agents->size() != static_cast<std::size_t>(o.workload.agents)) {
    return make_error(sync_error::malformed,
                      "the Connect emulator lists " +
                        std::to_string(agents->size()) + " agents, not " +
                        std::to_string(o.workload.agents));
  }

  people p;
  std::vector<http::http_request> creates;
  const std::string users_url = w.graph_url() + "/_control/users";
  for (std::size_t i = 0; i < agents->size(); ++i) {
    const auto& a = (*agents)[i];
    const int n = static_cast<int>(i) + 1;
    p.persons.push_back({a.username, "", a.id});
    p.agent_keys.push_back(a.username);
    creates.push_back(
      world_http::make("POST", users_url,
                       user_body(numbered("Agent %04d", n), a.username,
                                 numbered("+1 212 555 %04d", n % 10000))));
  }
  for (int i = 0; i < o.workload.office_users; ++i) {
    const int n = i + 1;
    const auto address = numbered("office%04d@example.com", n);
    p.persons.push_back({address, "", ""});
    creates.push_back(
      world_http::make("POST", users_url,
                       user_body(numbered("Office %04d", n), address,
                                 numbered("+1 206 %07d", 4000000 + n))));
  }
  auto answers = http.call_all(std::move(creates));
  for (std::size_t i = 0; i < answers.size(); ++i) {
    auto body = body_of(std::move(answers[i]), "create Graph user");
    if (!body) {
      return body.err();
    }
    auto id = demo::parse_user_id(*body);
    if (!id) {
      return id.err();
    }
    p.persons[i].graph_id = *id;
  }

  std::vector<http::http_request> sign_ins;
  for (const auto& person : p.persons) {
    sign_ins.push_back(world_http::make(
      "PUT", users_url + "/" + person.graph_id + "/teams-client",
      R"({"availability":"Available","activity":"Available"})"));
  }
  for (auto& a : http.call_all(std::move(sign_ins))) {
    if (auto body = body_of(std::move(a), "sign in a Teams client"); !body) {
      return body.err();
    }
  }
  p.signed_in_ms = now_ms();
  return p;
}

// -- presync ------------------------------------------------------------------

/// How long presync may take to become ready: its start lists Connect's
/// users and reads their current data at Connect's default 2 requests a
/// second (about one request per 50 agents) while the Graph directory
/// loads, so the wait grows with the people (430 s at 100,000).
duration ready_timeout(int agents, int office_users) {
  return 90s + std::chrono::milliseconds{25} * agents +
         std::chrono::milliseconds{1} * office_users;
}

/// Waits for presync's /readyz; the error quotes the end of its log.
std::optional<std::string> wait_ready(world_http& http, world& w,
                                      const std::string& log_file,
                                      duration timeout) {
  const auto deadline = steady::now() + timeout;
  std::string last = "no answer yet";
  while (!interrupted()) {
    if (!w.presync->running()) {
      return "presync exited (" + w.presync->exit_description().value_or("?") +
             ") before it was ready; the end of " + log_file + ":\n" +
             tail_of_file(log_file, 20);
    }
    auto r = http.call("GET", w.api_url() + "/readyz", {}, 2s);
    if (r && r->status == 200) {
      return std::nullopt;
    }
    last = r ? "HTTP " + std::to_string(r->status) : r.err().describe();
    if (steady::now() >= deadline) {
      return "presync was not ready after " +
             std::to_string(
               std::chrono::duration_cast<std::chrono::seconds>(timeout)
                 .count()) +
             " s (/readyz: " + last + "); the end of " + log_file + ":\n" +
             tail_of_file(log_file, 20);
    }
    std::this_thread::sleep_for(200ms);
  }
  return "interrupted";
}

// -- the workload -------------------------------------------------------------

/// Performs the workload's actions through the control APIs and records
/// the Teams changes it made.
///
/// TODO: actions go one at a time over blocking calls; at a few hundred
/// actions per second the executor falls behind (the progress line then
/// says "behind Ns"); sending different people's actions concurrently, in
/// order per person, would lift that limit.
class executor {
 public:
  executor(world_http& http, const world& w, const people& p)
    : http_(http), graph_(w.graph_url()), connect_(w.connect_url()), p_(p),
      client_key_(p.persons.size(), "Available/Available") {
    for (const auto& person : p.persons) {
      teams_changes.push_back(
        {person.graph_id, p.signed_in_ms, "Available/Available"});
    }
  }

  void perform(const sim::action& a) {
    using sim::action_kind;
    const auto& person = p_.persons[static_cast<std::size_t>(a.person)];
    switch (a.kind) {
    case action_kind::login:
      agent_call(a, "/login", R"({"status":"Available"})");
      break;
    case action_kind::offer_contact:
      offer(a);
      break;
    case action_kind::connect_contact:
      contact_step(a, "connect");
      break;
    case action_kind::end_contact:
      contact_step(a, "end");
      break;
    case action_kind::miss_contact:
      contact_step(a, "miss");
      break;
    case action_kind::clear_contact:
      contact_step(a, "clear");
      break;
    case action_kind::set_status: {
      std::string body = "{\"status\":";
      append_json_string(body, a.value);
      body += '}';
      agent_call(a, "/status", body);
      break;
    }
    case action_kind::teams_client: {
      const auto slash = a.value.find('/');
      std::string body = "{\"availability\":";
      append_json_string(body, a.value.substr(0, slash));
      body += ",\"activity\":";
      append_json_string(body, a.value.substr(slash + 1));
      body += '}';
      if (graph_call(a, "PUT", person.graph_id + "/teams-client", body)) {
        client_key_[static_cast<std::size_t>(a.person)] = a.value;
        if (!dnd_.count(a.person)) {
          teams_changes.push_back({person.graph_id, now_ms(), a.value});
        }
      }
      break;
    }
    case action_kind::dnd_on:
      if (graph_call(a, "PUT", person.graph_id + "/preferred",
                     R"({"availability":"DoNotDisturb",)"
                     R"("activity":"DoNotDisturb"})")) {
        dnd_.insert(a.person);
        teams_changes.push_back({person.graph_id, now_ms(), a.value});
      }
      break;
    case action_kind::dnd_off:
      if (graph_call(a, "DELETE", person.graph_id + "/preferred", "")) {
        dnd_.erase(a.person);
        teams_changes.push_back(
          {person.graph_id, now_ms(),
           client_key_[static_cast<std::size_t>(a.person)]});
      }
      break;
    }
  }

  std::vector<sim::teams_change> teams_changes;
  int calls_offered = 0;
  int calls_not_routed = 0;  ///< the agent was not in a routable status
  int steps_skipped = 0;     ///< steps of calls that never rang
  int cleared_by_status = 0; ///< a status change had cleared the contact
  int control_errors = 0;
  std::vector<std::string> error_samples;

 private:
  void failed(const sim::action& a, const std::string& why) {
    ++control_errors;
    if (error_samples.size() < 5) {
      error_samples.push_back(
        std::string{sim::to_string(a.kind)} + " for " +
        p_.persons[static_cast<std::size_t>(a.person)].name + ": " + why);
    }
  }

  /// POSTs to /_control/agents/{username}{suffix}; returns the answer.
  expected<http::http_response> agent_post(const sim::action& a,
                                           const std::string& suffix,
                                           std::string body) {
    return http_.call("POST",
                      connect_ + "/_control/agents/" +
                        p_.agent_keys[static_cast<std::size_t>(a.person)] +
                        suffix,
                      std::move(body));
  }

  void agent_call(const sim::action& a, const std::string& suffix,
                  std::string body) {
    auto r = agent_post(a, suffix, std::move(body));
    if (!r) {
      failed(a, r.err().describe());
    } else if (r->status != 200) {
      failed(a, "HTTP " + std::to_string(r->status) + " " + r->body);
    }
  }

  void offer(const sim::action& a) {
    ++calls_offered;
    auto r = agent_post(a, "/contacts", R"({"initiation":"INBOUND"})");
    if (r && r->status == 409) {
      ++calls_not_routed; // e.g. presync set Meeting: no call routed
      return;
    }
    auto body = body_of(std::move(r), "offer a contact");
    if (!body) {
      failed(a, body.err().context);
      return;
    }
    auto id = demo::parse_contact_id(*body);
    if (!id) {
      failed(a, id.err().context);
      return;
    }
    contacts_[a.contact] = std::move(*id);
  }

  void contact_step(const sim::action& a, const std::string& step) {
    auto it = contacts_.find(a.contact);
    if (it == contacts_.end()) {
      ++steps_skipped;
      return;
    }
    auto r = agent_post(a, "/contacts/" + it->second + "/" + step, "");
    if (step == "clear") {
      contacts_.erase(it);
    }
    if (r && r->status == 404 && step == "clear") {
      ++cleared_by_status; // a status change had already cleared it
      return;
    }
    if (!r) {
      failed(a, r.err().describe());
    } else if (r->status != 200) {
      failed(a, "HTTP " + std::to_string(r->status) + " " + r->body);
    }
  }

  bool graph_call(const sim::action& a, const std::string& method,
                  const std::string& path, std::string body) {
    auto r =
      http_.call(method, graph_ + "/_control/users/" + path, std::move(body));
    if (!r) {
      failed(a, r.err().describe());
      return false;
    }
    if (r->status < 200 || r->status >= 300) {
      failed(a, "HTTP " + std::to_string(r->status) + " " + r->body);
      return false;
    }
    return true;
  }

  world_http& http_;
  std::string graph_;
  std::string connect_;
  const people& p_;
  std::vector<std::string> client_key_;           ///< each Teams client's value
  std::set<int> dnd_;                             ///< who has DoNotDisturb set
  std::unordered_map<int, std::string> contacts_; ///< serial -> contact id
};

// -- watching -----------------------------------------------------------------

/// Reads what the world and presync count, once per second.
class observer {
 public:
  observer(world_http& http, const world& w, bool with_presync)
    : http_(http), w_(w), with_presync_(with_presync) {}

  /// Fetches Connect events recorded since the last call.
  void fetch_events() {
    auto body =
      body_of(http_.call("GET", w_.connect_url() + "/_control/events?since=" +
                                  std::to_string(last_seq_)),
              "Connect events");
    if (!body) {
      note(body.err().context);
      return;
    }
    auto parsed = demo::parse_events(*body, last_seq_);
    if (!parsed) {
      note(parsed.err().context);
      return;
    }
    changes.insert(changes.end(), parsed->begin(), parsed->end());
  }

  /// Reads both emulators' counters.
  sim::request_counters counters() {
    sim::request_counters c;
    auto g = body_of(http_.call("GET", w_.graph_url() + "/_control/counters"),
                     "Graph counters");
    if (g) {
      if (auto ok = demo::parse_graph_counters(*g, c); !ok) {
        note(ok.err().context);
      }
    }
    auto k = body_of(http_.call("GET", w_.connect_url() + "/_control/counters"),
                     "Connect counters");
    if (k) {
      if (auto ok = demo::parse_connect_counters(*k, c); !ok) {
        note(ok.err().context);
      }
    }
    return c;
  }

  /// Prints one progress line.
  void progress(steady::duration elapsed, steady::duration lag,
                std::string_view phase) {
    fetch_events();
    const auto c = counters();
    std::vector<demo::metric_sample> m;
    if (with_presync_) {
      auto r = http_.call("GET", w_.metrics_url(), {}, 5s);
      if (r && r->status == 200) {
        m = demo::parse_metrics(r->body);
      }
    }
    auto sum = [&](std::string_view name, std::string_view label = {},
                   std::string_view value = {}) {
      if (label.empty()) {
        return demo::metric_sum(m, name);
      }
      return demo::metric_sum(m, name, {{label, value}});
    };
    queued = sum("presync_write_queue_depth");
    constexpr std::string_view decisions = "presync_decisions_total";
    const std::string behind =
      lag > 1s
        ? " | behind " + std::to_string(static_cast<int>(seconds(lag))) + "s"
        : "";
    std::printf(
      "%5.0fs %-7.*s in %6.0f | writes teams %5.0f connect %4.0f queued "
      "%3.0f | held %5.0f superseded %5.0f echo %5.0f loop %3.0f | graph "
      "%6" PRId64 " req %3" PRId64 " thr | connect %5" PRId64 " req %3" PRId64
      " thr%s\n",
      seconds(elapsed), static_cast<int>(phase.size()), phase.data(),
      sum("presync_source_changes_total"),
      sum("presync_writes_total", "side", "teams"),
      sum("presync_writes_total", "side", "connect"), queued,
      sum(decisions, "decision", "held"),
      sum(decisions, "decision", "superseded"),
      sum(decisions, "decision", "echo"),
      sum(decisions, "decision", "loop_paused"), c.graph_requests,
      c.graph_throttled, c.connect_requests, c.connect_throttled,
      behind.c_str());
    std::fflush(stdout);
  }

  void note(const std::string& problem) {
    if (notes_.size() < 5) {
      notes_.push_back(problem);
      std::fprintf(stderr, "presync demo: %s\n", problem.c_str());
    }
  }

  std::vector<sim::connect_state_change> changes;
  /// presync's queued writes at the last progress line (0 without presync).
  double queued = 0;

 private:
  world_http& http_;
  const world& w_;
  bool with_presync_;
  std::uint64_t last_seq_ = 0;
  std::vector<std::string> notes_;
};

/// What the world looks like now, for the settle check and the report.
struct snapshot {
  std::vector<sim::final_agent> agents;
  std::vector<sim::graph_write> writes;
  std::vector<sim::final_presence> presences;
};

expected<std::vector<sim::final_presence>>
read_presences(world_http& http, const world& w,
               const std::vector<std::string>& ids) {
  std::vector<http::http_request> gets;
  for (const auto& id : ids) {
    gets.push_back(world_http::make("GET", w.graph_url() + "/_control/users/" +
                                             id + "/presence"));
  }
  std::vector<sim::final_presence> out;
  for (auto& a : http.call_all(std::move(gets))) {
    auto body = body_of(std::move(a), "Graph presence");
    if (!body) {
      return body.err();
    }
    auto p = demo::parse_presence(*body, demo_client_id);
    if (!p) {
      return p.err();
    }
    out.push_back(std::move(*p));
  }
  return out;
}

/// Reads agents and writes; presences of every agent when `all_presences`,
/// else only of agents in a status only presync sets.
expected<snapshot> read_world(world_http& http, const world& w, const people& p,
                              const sync_settings& sync, bool all_presences) {
  snapshot s;
  auto agents = body_of(http.call("GET", w.connect_url() + "/_control/agents"),
                        "Connect agents");
  if (!agents) {
    return agents.err();
  }
  auto parsed = demo::parse_agents(*agents);
  if (!parsed) {
    return parsed.err();
  }
  for (const auto& a : *parsed) {
    s.agents.push_back({a.id, a.state, a.status_name});
  }
  auto writes = body_of(http.call("GET", w.graph_url() + "/_control/writes"),
                        "Graph writes");
  if (!writes) {
    return writes.err();
  }
  auto parsed_writes = demo::parse_writes(*writes);
  if (!parsed_writes) {
    return parsed_writes.err();
  }
  s.writes = std::move(*parsed_writes);

  std::set<std::string> rule_statuses;
  for (const auto& [key, rule] : sync.teams_to_connect.entries) {
    if (rule.what == teams_rule::action::set_status) {
      rule_statuses.insert(rule.status);
    }
  }
  std::unordered_map<std::string, std::string> graph_of;
  for (const auto& person : p.persons) {
    if (!person.connect_id.empty()) {
      graph_of[person.connect_id] = person.graph_id;
    }
  }
  std::vector<std::string> ids;
  for (const auto& a : s.agents) {
    if (all_presences || rule_statuses.count(a.status_name)) {
      ids.push_back(graph_of[a.connect_id]);
    }
  }
  auto presences = read_presences(http, w, ids);
  if (!presences) {
    return presences.err();
  }
  s.presences = std::move(*presences);
  return s;
}

/// Collects everything the report needs.
expected<sim::report_input> gather(world_http& http, const world& w,
                                   const people& p, const sync_settings& sync,
                                   observer& obs, const executor& ex) {
  sim::report_input in;
  in.sync = sync;
  in.session_id = demo_client_id;
  in.persons = p.persons;

  obs.fetch_events();
  in.connect_changes = obs.changes;
  auto world_now = read_world(http, w, p, sync, true);
  if (!world_now) {
    return world_now.err();
  }
  in.agents = std::move(world_now->agents);
  in.writes = std::move(world_now->writes);
  in.presences = std::move(world_now->presences);

  auto puts =
    body_of(http.call("GET", w.connect_url() + "/_control/put-user-status"),
            "PutUserStatus log");
  if (!puts) {
    return puts.err();
  }
  auto parsed = demo::parse_status_puts(*puts);
  if (!parsed) {
    return parsed.err();
  }
  in.status_puts = std::move(*parsed);
  in.teams_changes = ex.teams_changes;
  in.counters = obs.counters();
  in.end_ms = now_ms();
  return in;
}

/// Warns when the emulators' clocks are not the real clock: the report
/// compares their timestamps with each other and with ours.
void check_clocks(world_http& http, const world& w) {
  for (const auto& [name, url] : {std::pair{"Graph", w.graph_url()},
                                  std::pair{"Connect", w.connect_url()}}) {
    const auto before = now_ms();
    auto body = body_of(http.call("GET", url + "/_control/clock"), name);
    const auto after = now_ms();
    if (!body) {
      continue;
    }
    auto ms = demo::parse_clock_ms(*body);
    if (ms && (*ms < before - 1000 || *ms > after + 1000)) {
      std::printf("warning: the %s emulator's clock is %+" PRId64
                  " ms off the real clock; delays are skewed by that\n",
                  name, *ms - after);
    }
  }
}

bool write_file(const std::string& path, const std::string& text,
                bool secret = false) {
  if (secret) {
    // Create it owner-only before anything is written to it.
    std::ofstream create(path, std::ios::trunc);
    create.close();
    std::error_code ec;
    fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write,
                    fs::perm_options::replace, ec);
  }
  std::ofstream out(path, std::ios::trunc);
  out << text;
  return static_cast<bool>(out);
}

std::string executable_dir() {
  std::error_code ec;
  auto self = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string{"."} : self.parent_path().string();
}

/// Runs the demo once everything is parsed; returns the exit status.
int run_demo(const demo_options& o) {
  // Where the binaries and the work folder are.
  const std::string bin_dir = o.bin_dir.empty() ? executable_dir() : o.bin_dir;
  for (const char* name :
       {"presync-graph-emulator", "presync-connect-emulator"}) {
    if (::access((bin_dir + "/" + name).c_str(), X_OK) != 0) {
      std::fprintf(stderr,
                   "presync demo: %s/%s is missing; build it with "
                   "`cmake --build build --target %s` or pass --bin-dir\n",
                   bin_dir.c_str(), name, name);
      return 1;
    }
  }
  std::error_code self_ec;
  const std::string presync_bin =
    o.bin_dir.empty() ? fs::read_symlink("/proc/self/exe", self_ec).string()
                      : o.bin_dir + "/presync";

  world w;
  if (o.work_dir.empty()) {
    std::string templ = "/tmp/presync-demo-XXXXXX";
    if (!::mkdtemp(templ.data())) {
      std::perror("presync demo: mkdtemp");
      return 1;
    }
    w.ends.work_dir = templ;
  } else {
    std::error_code ec;
    fs::create_directories(o.work_dir, ec);
    w.ends.work_dir = fs::absolute(o.work_dir, ec).string();
    // The emulators start empty: state stored by an earlier run would
    // describe sessions that no longer exist.
    for (const char* stale :
         {"presync.db", "presync.db-wal", "presync.db-shm"}) {
      fs::remove(w.ends.work_dir + "/" + stale, ec);
    }
  }
  const auto& dir = w.ends.work_dir;
  std::printf("work dir      %s\n", dir.c_str());

  // The world: kinesalite, the emulators, the people.
  if (auto problem = start_emulators(w, o, bin_dir)) {
    std::fprintf(stderr, "presync demo: %s\n", problem->c_str());
    return 1;
  }
  if (interrupted()) {
    return 130;
  }
  http::client_config cc;
  cc.env = http::empty_environment(); // loopback only, never a proxy
  cc.max_connections_per_host = 4;
  auto client = http::client::make(std::move(cc));
  if (!client) {
    std::fprintf(stderr, "presync demo: %s\n", client.err().describe().c_str());
    return 1;
  }
  world_http http(std::move(*client));
  std::printf("emulators     graph %s  connect %s  kinesis 127.0.0.1:%u\n",
              w.graph_url().c_str(), w.connect_url().c_str(),
              static_cast<unsigned>(w.ends.kinesis_port));
  std::fflush(stdout);

  auto people_made = create_people(http, w, o);
  if (!people_made) {
    std::fprintf(stderr, "presync demo: %s\n",
                 people_made.err().context.c_str());
    return 1;
  }
  const people& p = *people_made;
  std::printf("people        %d agents (Teams + Connect), %d office users "
              "(Teams only)\n",
              o.workload.agents, o.workload.office_users);

  // presync's config, checked as check-config would.
  w.ends.api_port = free_loopback_port();
  w.ends.metrics_port = free_loopback_port();
  const std::string config_file = dir + "/presync.yaml";
  const std::string config_text = demo_config_yaml(w.ends);
  const std::string api_token = random_hex(24);
  const std::vector<std::pair<std::string, std::string>> env = {
    {"PRESYNC_GRAPH_SECRET", "emulator-secret"},
    {"AWS_ACCESS_KEY_ID", "testing"},
    {"AWS_SECRET_ACCESS_KEY", "testing"},
    {"PRESYNC_API_TOKENS", api_token}};
  config::diagnostics diags(config_file);
  auto loaded = config::load_config_text(
    config_text, diags,
    [&](std::string_view name) -> std::optional<std::string> {
      for (const auto& [k, v] : env) {
        if (k == name) {
          return v;
        }
      }
      return std::nullopt;
    });
  if (!loaded || loaded->tenants.empty()) {
    std::fprintf(stderr, "presync demo: the generated config is invalid:\n");
    for (const auto& line : diags.format_all()) {
      std::fprintf(stderr, "  %s\n", line.c_str());
    }
    return 1;
  }
  const sync_settings sync = loaded->tenants.front().sync;
  if (!write_file(config_file, config_text) ||
      !write_file(dir + "/api-token", api_token + "\n", true)) {
    std::fprintf(stderr, "presync demo: cannot write into %s\n", dir.c_str());
    return 1;
  }

  // presync itself.
  const std::string log_file = dir + "/presync.log";
  std::int64_t ready_ms = now_ms();
  if (!o.no_presync) {
    child_spec s;
    s.name = "presync";
    s.argv = {presync_bin, "run", "--config", config_file};
    s.stdout_file = log_file;
    s.stderr_file = log_file;
    for (const auto& [k, v] : env) {
      s.env.push_back(k + "=" + v);
    }
    // Loopback only: no proxy, and no session token from the caller's
    // environment next to the emulator's test keys.
    for (const char* unset : {"AWS_SESSION_TOKEN", "HTTPS_PROXY", "HTTP_PROXY",
                              "https_proxy", "http_proxy"}) {
      s.env.push_back(std::string{unset} + "=");
    }
    s.env.push_back("NO_PROXY=127.0.0.1,localhost");
    auto started = child_process::start(std::move(s));
    if (!started) {
      std::fprintf(stderr, "presync demo: %s\n", started.err().context.c_str());
      return 1;
    }
    w.presync.emplace(std::move(*started));
    std::printf("presync       starting, log %s\n", log_file.c_str());
    std::fflush(stdout);
    if (auto problem = wait_ready(
          http, w, log_file,
          ready_timeout(o.workload.agents, o.workload.office_users))) {
      if (interrupted()) {
        return 130;
      }
      std::fprintf(stderr, "presync demo: %s", problem->c_str());
      return 1;
    }
    ready_ms = now_ms();
    std::printf("directory API %s/v1/tenants/demo/directory (bearer token "
                "in %s/api-token)\n",
                w.api_url().c_str(), dir.c_str());
    std::printf("metrics       %s\n", w.metrics_url().c_str());
  } else {
    std::printf("presync       not started (--no-presync)\n");
  }

  // The workload, in real time.
  auto params = o.workload;
  params.min_hold = sync.min_hold;
  const auto actions = sim::make_workload(params);
  const auto plan = sim::summarize(actions);
  std::printf("workload      seed %" PRIu64 ": %d calls (%d missed), %d "
              "status changes, %d Teams changes over %s\n",
              params.seed, plan.calls, plan.missed, plan.status_changes,
              plan.teams_changes, format_duration(params.length).c_str());
  std::fflush(stdout);

  executor ex(http, w, p);
  observer obs(http, w, !o.no_presync);
  const auto baseline = obs.counters();
  const auto start = steady::now();
  const std::int64_t start_ms = now_ms();
  auto next_tick = start + 1s;
  steady::duration lag{0};
  std::size_t next = 0;
  auto phase = [&](steady::time_point now) -> std::string_view {
    return now - start < params.length ? "running" : "winding";
  };
  while (next < actions.size() && !interrupted()) {
    const auto now = steady::now();
    if (now >= next_tick) {
      if (auto dead = w.dead_child()) {
        std::fprintf(stderr, "presync demo: %s", dead->c_str());
        return 1;
      }
      obs.progress(now - start, lag, phase(now));
      next_tick += 1s;
      continue;
    }
    const auto due = start + actions[next].at;
    if (now >= due) {
      lag = now - due;
      ex.perform(actions[next++]);
      continue;
    }
    sleep_until(std::min(due, next_tick));
  }
  if (interrupted()) {
    std::printf("interrupted: stopping everything\n");
    return 130;
  }

  // Let the world settle: holds run out, polls see the last changes.
  // TODO: this stops at the first second everyone is consistent, so a
  // short change presync wrongly writes after that moment goes unseen;
  // reading the world only min_hold plus one poll after the last action
  // would catch it, at about 20 s per run.
  const auto settle_for =
    sync.min_hold + 2 * sync.teams_poll_interval + std::chrono::seconds{10};
  const auto settle_deadline = steady::now() + settle_for;
  // Writes presync still has queued (behind a rate limit) are part of
  // settling too; they get up to five more minutes.
  const auto queue_deadline = settle_deadline + std::chrono::minutes{5};
  bool told_queue = false;
  std::size_t open = 0;
  while (!interrupted()) {
    const auto now = steady::now();
    if (auto dead = w.dead_child()) {
      std::fprintf(stderr, "presync demo: %s", dead->c_str());
      return 1;
    }
    obs.progress(now - start, steady::duration{0}, "settle");
    auto s = read_world(http, w, p, sync, false);
    if (!s) {
      std::fprintf(stderr, "presync demo: %s\n", s.err().context.c_str());
      return 1;
    }
    open = sim::check_consistency(sync, demo_client_id, p.persons, s->agents,
                                  s->presences, s->writes)
             .size();
    if (open == 0 || now >= queue_deadline ||
        (now >= settle_deadline && obs.queued == 0)) {
      break;
    }
    if (now >= settle_deadline && !told_queue) {
      std::printf("presync still has %.0f writes queued: waiting for them "
                  "(at most 5 more minutes)\n",
                  obs.queued);
      told_queue = true;
    }
    sleep_until(now + 1s);
  }
  if (interrupted()) {
    std::printf("interrupted: stopping everything\n");
    return 130;
  }
  std::printf("%s after %.0f s of wind-down and settling\n",
              open == 0 ? "settled" : "not settled",
              seconds(steady::now() - start) - seconds(params.length));

  // The report, from what the emulators recorded.
  check_clocks(http, w);
  auto in = gather(http, w, p, sync, obs, ex);
  if (!in) {
    std::fprintf(stderr, "presync demo: %s\n", in.err().context.c_str());
    return 1;
  }
  in->ready_ms = ready_ms;
  in->start_ms = start_ms;
  in->counters = sim::counted_since(in->counters, baseline);
  const auto report = sim::make_report(*in);
  std::printf("\nworkload      %d calls offered, %d not routed (agent not "
              "routable), %d contacts cleared by a status change, %d "
              "control errors\n",
              ex.calls_offered, ex.calls_not_routed, ex.cleared_by_status,
              ex.control_errors);
  for (const auto& e : ex.error_samples) {
    std::printf("  %s\n", e.c_str());
  }
  std::printf("\n%s", sim::report_text(report).c_str());
  if (!o.report_file.empty()) {
    if (!write_file(o.report_file, sim::report_json(report) + "\n")) {
      std::fprintf(stderr, "presync demo: cannot write %s\n",
                   o.report_file.c_str());
      return 1;
    }
    std::printf("report        %s\n", o.report_file.c_str());
  }
  std::fflush(stdout);
  w.stop();
  return report.passed() ? 0 : 1;
}

} // namespace

bool parse_demo_flags(int argc, char** argv, demo_options& out,
                      std::string& error) {
  for (int i = 0; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      out.help = true;
      continue;
    }
    if (flag == "--no-presync") {
      out.no_presync = true;
      continue;
    }
    static constexpr std::array<std::string_view, 10> valued = {
      "--agents",        "--office-users", "--seed",      "--duration",
      "--call-interval", "--handle-time",  "--wrap-time", "--report",
      "--work-dir",      "--bin-dir"};
    if (std::find(valued.begin(), valued.end(), flag) == valued.end()) {
      error = flag.starts_with("-")
                ? "unknown option " + std::string{flag}
                : "unexpected argument " + std::string{flag};
      return false;
    }
    if (i + 1 >= argc) {
      error = std::string{flag} + " needs a value";
      return false;
    }
    const std::string_view value = argv[++i];
    long long n = 0;
    auto count = [&](int& target, long long lo, long long hi) {
      if (!parse_int(value, lo, hi, n)) {
        error = std::string{flag} + " must be a whole number from " +
                std::to_string(lo) + " to " + std::to_string(hi);
        return false;
      }
      target = static_cast<int>(n);
      return true;
    };
    auto span = [&](duration& target, duration lo) {
      auto d = parse_duration(value);
      if (!d || *d < lo) {
        error = std::string{flag} +
                " must be a duration such as 60s or 10m, "
                "at least " +
                format_duration(lo);
        return false;
      }
      target = *d;
      return true;
    };
    bool ok = true;
    if (flag == "--agents") {
      ok = count(out.workload.agents, 1, 10000);
    } else if (flag == "--office-users") {
      ok = count(out.workload.office_users, 0, 100000);
    } else if (flag == "--seed") {
      ok = parse_int(value, 0, std::numeric_limits<long long>::max(), n);
      if (!ok) {
        error = "--seed must be a whole number";
      }
      out.workload.seed = static_cast<std::uint64_t>(n);
    } else if (flag == "--duration") {
      ok = span(out.workload.length, 10s);
    } else if (flag == "--call-interval") {
      ok = span(out.workload.call_interval, 1s);
    } else if (flag == "--handle-time") {
      ok = span(out.workload.handle_time, 1s);
    } else if (flag == "--wrap-time") {
      ok = span(out.workload.wrap_time, 1s);
    } else if (flag == "--report") {
      out.report_file = std::string{value};
    } else if (flag == "--work-dir") {
      out.work_dir = std::string{value};
    } else if (flag == "--bin-dir") {
      out.bin_dir = std::string{value};
    } else {
      error = "unknown option " + std::string{flag};
      return false;
    }
    if (!ok) {
      return false;
    }
  }
  return true;
}

std::string demo_config_yaml(const demo_endpoints& e) {
  auto local = [](std::uint16_t port) {
    return "127.0.0.1:" + std::to_string(port);
  };
  std::string y;
  y += "# Written by `presync demo`: one tenant on the local emulators.\n";
  y += "actors: {scheduler_threads: 0}\n";
  y += "server: {listen: " + local(e.api_port) + "}\n";
  y += "metrics: {listen: " + local(e.metrics_port) + "}\n";
  y += "log: {level: info}\n";
  y += "store: {path: " + e.work_dir + "/presync.db}\n";
  y += "tenants:\n";
  y += "  - id: demo\n";
  y += "    graph:\n";
  y += "      tenant_id: 00000000-0000-0000-0000-0000000000a1\n";
  y += std::string{"      client_id: "} + demo_client_id + "\n";
  y += "      client_secret_env: PRESYNC_GRAPH_SECRET\n";
  y += "      login_endpoint: http://" + local(e.graph_port) + "\n";
  y += "      graph_endpoint: http://" + local(e.graph_port) + "\n";
  y += "    connect:\n";
  y += "      instance_id: 00000000-0000-0000-0000-0000000000aa\n";
  y += "      region: us-east-1\n";
  y += "      endpoint: http://" + local(e.connect_port) + "\n";
  y += "      kinesis_endpoint: http://" + local(e.kinesis_port) + "\n";
  y += "      stream_name: connect-agent-events\n";
  y += "      outbound_contact_flow_id: 00000000-0000-0000-0000-0000000000d1\n";
  // The Connect emulator's outbound queue (emulators/connect/README.md).
  y += "      outbound_queue_id: 33333333-3333-4333-8333-333333333334\n";
  y += "      agent_statuses: [Lunch, Break, Training, Meeting, TeamsCall]\n";
  y += "      credentials: env\n";
  y += "    identity: {match_order: [upn, mail, username]}\n";
  y += R"(    sync:
      mode: bidirectional
      min_hold: 15s
      echo_window: 2m
      chain_window: 30s
      loop_max_chain: 6
      loop_cooldown: 15m
      available_refresh: 4m
      teams_session_ttl: 1h
      session_refresh_margin: 5m
      reconcile_interval: 60m
      directory_interval: 5m
      teams_poll_interval: 5s
      journal_size: 50
      connect_to_teams:
        Available: Available/Available
        OnContact: Busy/InACall
        Incoming: Busy/InACall
        AfterContactWork: Busy/InACall
        Missed: Away/Away
        Error: Away/Away
        Offline: clear
        LoggedOut: clear
        "*": Away/Away
      teams_to_connect:
        Busy/InAMeeting:
          status: Meeting
          only_when_connect_in: [Available]
          never_during_contact: true
          restore_on_exit: true
        Busy/InAConferenceCall:
          status: Meeting
          only_when_connect_in: [Available]
          never_during_contact: true
          restore_on_exit: true
        DoNotDisturb:
          status: Meeting
          only_when_connect_in: [Available]
          never_during_contact: true
          restore_on_exit: true
        Away: ignore
        BeRightBack: ignore
        Offline: ignore
        AvailableIdle: ignore
        BusyIdle: ignore
        PresenceUnknown: ignore
)";
  return y;
}

int demo_main(int argc, char** argv) {
  demo_options o;
  std::string error;
  if (!parse_demo_flags(argc, argv, o, error)) {
    std::fprintf(stderr, "presync demo: %s\n\n%s", error.c_str(), usage);
    return 2;
  }
  if (o.help) {
    std::fputs(usage, stdout);
    return 0;
  }
  install_signal_handlers();
  const int status = run_demo(o);
  if (interrupted() && status != 0) {
    return 130;
  }
  return status;
}

} // namespace presync::app
