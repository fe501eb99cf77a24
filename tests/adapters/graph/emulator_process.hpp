// The Graph emulator as a child process over TLS on 127.0.0.1, with a test
// CA, a trusted HTTP client and the control API, for the Graph adapter's
// integration tests.
#pragma once

#include "actors/messages.hpp"
#include "adapters/graph/budget.hpp"
#include "adapters/graph/token_provider.hpp"
#include "adapters/http/client.hpp"

#include <caf/all.hpp>
#include <gtest/gtest.h>
#include <simdjson.h>

#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

extern char** environ;

namespace presync::graph::testing {

inline constexpr const char* emulator_bin =
  PRESYNC_BIN_DIR "/presync-graph-emulator";
inline constexpr const char* client_id = "00000000-0000-0000-0000-0000000000b1";
inline constexpr const char* tenant_id = "00000000-0000-0000-0000-0000000000a1";
inline constexpr const char* test_secret = "graph-emulator-test-secret";

/// Returns the emulator's id of generated user n (1-based).
inline std::string user_id(size_t n) {
  auto digits = std::to_string(n);
  return "00000000-0000-0000-0000-" + std::string(12 - digits.size(), '0') +
         digits;
}

/// Returns the person id the tests use for user n.
inline std::string person_of(size_t n) {
  return "person-" + std::to_string(n);
}

/// Returns the four values setPresence accepts, in the order a burst
/// writes them: the value of round r is value_of(r % 4).
inline presence value_of(size_t round) {
  static const presence values[] = {{"Available", "Available"},
                                    {"Busy", "InACall"},
                                    {"DoNotDisturb", "Presenting"},
                                    {"Away", "Away"}};
  return values[round % 4];
}

/// Makes a test CA and a 127.0.0.1 certificate once per test binary.
/// TODO: the temporary folder is not removed; an atexit hook removing
/// `dir` would clean it up.
class test_certificates {
 public:
  static const test_certificates& get() {
    static test_certificates c;
    return c;
  }
  std::string dir;
  std::string ca() const { return dir + "/ca.pem"; }
  std::string cert() const { return dir + "/cert.pem"; }
  std::string key() const { return dir + "/key.pem"; }

 private:
  test_certificates() {
    char tmpl[] = "/tmp/presync-graph-emu-XXXXXX";
    dir = mkdtemp(tmpl);
    std::string script =
      "cd " + dir +
      " && openssl req -x509 -newkey rsa:2048 -nodes -days 1"
      " -subj /CN=presync-test-ca -keyout ca.key -out ca.pem 2>/dev/null"
      " && openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1"
      " -keyout key.pem -out req.csr 2>/dev/null"
      " && printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > ext"
      " && openssl x509 -req -days 1 -in req.csr -CA ca.pem -CAkey ca.key"
      " -CAcreateserial -extfile ext -out cert.pem 2>/dev/null";
    if (std::system(script.c_str()) != 0) {
      throw std::runtime_error("openssl could not make the test certificates");
    }
  }
};

/// Starts the emulator with TLS on port 0 and stops it at the end.
class emulator_process {
 public:
  explicit emulator_process(std::vector<std::string> extra) {
    const auto& certs = test_certificates::get();
    std::vector<std::string> args{emulator_bin, "--tls-cert", certs.cert(),
                                  "--tls-key",  certs.key(),  "--client-secret",
                                  test_secret};
    args.insert(args.end(), extra.begin(), extra.end());
    std::vector<char*> argv;
    for (auto& a : args) {
      argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    int out[2];
    if (pipe(out) != 0) {
      throw std::runtime_error("pipe failed");
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_addclose(&fa, out[0]);
    auto rc =
      posix_spawn(&pid_, emulator_bin, &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    close(out[1]);
    out_ = out[0];
    if (rc != 0) {
      pid_ = -1;
      throw std::runtime_error("cannot start the emulator");
    }

    // Upper bound only: the line normally arrives within milliseconds.
    std::string line;
    char c = 0;
    pollfd p{out_, POLLIN, 0};
    while (line.size() < 200 && poll(&p, 1, 30000) == 1 &&
           read(out_, &c, 1) == 1 && c != '\n') {
      line += c;
    }
    if (line.rfind("listening 127.0.0.1:", 0) != 0) {
      throw std::runtime_error("emulator did not start: " + line);
    }
    port_ = line.substr(line.rfind(':') + 1);
  }

  ~emulator_process() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0) {
      close(out_);
    }
  }

  emulator_process(const emulator_process&) = delete;
  emulator_process& operator=(const emulator_process&) = delete;

  std::string base() const { return "https://127.0.0.1:" + port_; }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  std::string port_;
};

/// Returns a client that trusts the system store and, unless told not to,
/// the test CA.
inline std::shared_ptr<http::client> trusting_client(bool trust_ca = true) {
  http::client_config cfg;
  cfg.env = http::empty_environment();
  cfg.use_system_ca = true;
  if (trust_ca) {
    cfg.extra_ca_file = test_certificates::get().ca();
  }
  auto c = http::client::make(std::move(cfg));
  if (!c) {
    throw std::runtime_error("client: " + c.err().describe());
  }
  return std::shared_ptr<http::client>(std::move(*c));
}

/// A fixture with an emulator, a client, tokens, a presence budget and an
/// actor system; `start` launches the emulator, and the client the Graph
/// code uses trusts the test CA unless `trust_ca` is false (the control
/// API's client always does).
class emulator_fixture : public ::testing::Test {
 protected:
  /// Stops what `keep` saw, so that a failed assertion cannot leave an
  /// actor that keeps the actor system (and the test) alive.
  ~emulator_fixture() override {
    for (const auto& a : spawned_) {
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    }
  }

  /// Returns `a`, stopped at the end of the test at the latest.
  caf::actor keep(caf::actor a) {
    spawned_.push_back(a);
    return a;
  }

  void start(std::vector<std::string> args, bool trust_ca = true) {
    emu_ = std::make_unique<emulator_process>(std::move(args));
    control_ = trusting_client();
    http_ = trusting_client(trust_ca);
    where_.login = emu_->base();
    where_.graph = emu_->base();
    where_.scope_resource = "https://graph.microsoft.com";
    client_credentials creds{tenant_id, client_id, secret{test_secret}};
    tokens_ = token_provider::make(http_, creds, where_);
    budget_ = std::make_shared<presence_budget>();
  }

  /// Fetches the token now, so knobs that follow do not hit the token
  /// request.
  void warm_token() {
    std::promise<bool> done;
    tokens_->get(
      [&done](expected<secret> t) { done.set_value(static_cast<bool>(t)); });
    ASSERT_TRUE(done.get_future().get()) << "no token from the emulator";
  }

  /// Sends a control request and returns the body; fails the test on error.
  std::string control(const std::string& method, const std::string& path,
                      const std::string& body = "") {
    http::http_request r;
    r.method = method;
    r.url = emu_->base() + "/_control/" + path;
    r.body = body;
    if (!body.empty()) {
      r.headers.set("Content-Type", "application/json");
    }
    auto answer = control_->send(std::move(r));
    EXPECT_TRUE(answer) << path;
    if (!answer) {
      return "";
    }
    EXPECT_LT(answer->status, 300) << path << ": " << answer->body;
    return answer->body;
  }

  void knobs(const std::string& body) { control("POST", "knobs", body); }

  /// Returns counters.operations[name] (0 when absent).
  int64_t counter(const std::string& name) {
    auto body = control("GET", "counters");
    simdjson::dom::parser p;
    int64_t v = 0;
    if (p.parse(body)["operations"][name].get(v) != simdjson::SUCCESS) {
      return 0;
    }
    return v;
  }

  /// Returns "sessionId availability/activity" of user n's first session.
  std::string session_of(size_t n) {
    auto body = control("GET", "users/" + user_id(n) + "/presence");
    simdjson::dom::parser p;
    simdjson::dom::array sessions;
    if (p.parse(body)["sessions"].get(sessions) != simdjson::SUCCESS ||
        sessions.size() == 0) {
      return "none";
    }
    auto s = sessions.at(0);
    std::string_view id;
    std::string_view av;
    std::string_view ac;
    if (s["sessionId"].get(id) || s["availability"].get(av) ||
        s["activity"].get(ac)) {
      return "malformed";
    }
    return std::string(id) + " " + std::string(av) + "/" + std::string(ac);
  }

  static write_request teams_write(size_t n, presence value) {
    write_request r;
    r.person = person_of(n);
    r.to = side::teams;
    r.kind = write_kind::write;
    r.teams = teams_target::of(std::move(value));
    return r;
  }

  /// Stops every spawned actor.
  static void stop(std::initializer_list<caf::actor> actors) {
    for (const auto& a : actors) {
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    }
  }

  std::unique_ptr<emulator_process> emu_;
  std::shared_ptr<http::client> control_;
  std::shared_ptr<http::client> http_;
  endpoints where_;
  std::shared_ptr<token_provider> tokens_;
  std::shared_ptr<presence_budget> budget_;
  caf::actor_system_config cfg_;
  caf::actor_system sys_{cfg_};
  std::vector<caf::actor> spawned_;
};

} // namespace presync::graph::testing
