// Hostile HTTP clients against the API server (issue 10, "Bad input"):
// the real server (adapters/http/server.*) answering through the real
// routes (app/api.*) on 127.0.0.1, spoken to over raw sockets. Each bad
// request gets its 4xx or a closed connection, nothing crashes, and a
// well-behaved client is served before, during and after.
#include "app/api.hpp"

#include "adapters/http/server.hpp"
#include "app/directory_snapshot.hpp"
#include "app/tenant_directory.hpp"

#include <gtest/gtest.h>

#include <caf/all.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace presync::app {
namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

/// How long a test waits for the server before calling it hung; never
/// reached when the server behaves.
constexpr auto patience = 10s;

/// A raw TCP connection to the server under test.
class raw_client {
 public:
  explicit raw_client(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ =
      ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~raw_client() { ::close(fd_); }

  raw_client(const raw_client&) = delete;
  raw_client& operator=(const raw_client&) = delete;

  bool connected() const { return connected_; }

  /// Sends all of `bytes`; false once the server has closed.
  bool send(std::string_view bytes) {
    while (!bytes.empty()) {
      auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) {
        return false;
      }
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  /// Reads until the server closes the connection or `until` passes;
  /// returns everything read, and whether it closed.
  std::pair<std::string, bool> read_to_close(clock_type::time_point until) {
    std::string got;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - clock_type::now());
      if (left <= 0ms) {
        return {got, false};
      }
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
        continue;
      }
      char buf[4096];
      auto n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        return {got, true}; // orderly close or reset: closed either way
      }
      got.append(buf, static_cast<size_t>(n));
    }
  }

  /// Returns true once the server has closed its side (waits at most
  /// `wait`), false while it is still open.
  bool closed_within(std::chrono::milliseconds wait) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(wait.count())) <= 0) {
      return false;
    }
    char c;
    auto n = ::recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n <= 0 || (p.revents & (POLLHUP | POLLERR)) != 0;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

/// The status of an HTTP answer ("HTTP/1.1 404 ..."), 0 for none.
int status_of(const std::string& answer) {
  if (answer.rfind("HTTP/1.", 0) != 0 || answer.size() < 12) {
    return 0;
  }
  return std::atoi(answer.substr(9, 3).c_str());
}

std::string body_of(const std::string& answer) {
  auto at = answer.find("\r\n\r\n");
  return at == std::string::npos ? "" : answer.substr(at + 4);
}

/// The API server with one tenant "t1" whose directory holds Ada.
class HostileClients : public ::testing::Test {
 protected:
  HostileClients() {
    config::tenant_config tc;
    tc.id = "t1";
    tc.connect.instance_id = "00000000-0000-0000-0000-0000000000aa";
    tc.connect.outbound_contact_flow_id =
      "00000000-0000-0000-0000-0000000000d1";
    tc.connect.outbound_queue_id = "00000000-0000-0000-0000-0000000000e1";
    tenants_.push_back(std::make_unique<tenant_runtime>(
      sys_, tc, nullptr, [](std::string_view) { return std::nullopt; }));
    dir_ = std::make_unique<tenant_directory>("t1", tc.connect);
    ctx_.tenants = &tenants_;
    ctx_.directory_of = [this](const tenant_runtime&) {
      return dir_.get();
    };
    ctx_.tokens = parse_api_tokens("good-token");

    directory_inputs in;
    graph::directory_entry ada;
    ada.id = "g-ada";
    ada.phone_e164 = "+14255550101";
    ada.phone_from = graph::phone_source::business;
    in.teams_entries["g-ada"] = ada;
    in.teams.push_back(
      teams_account{"g-ada", "ada@example.com", "ada@example.com", "Ada"});
    in.people.people = {{"g-ada", 0, std::nullopt, ""}};
    dir_->publish(build_directory_snapshot(in, 1));

    http::server_limits limits;
    limits.max_header_bytes = 8 * 1024;
    limits.max_body_bytes = 16 * 1024;
    limits.read_timeout = 300ms; // short, so slow clients are cut off soon
    auto started = http::server::start(
      "127.0.0.1:0",
      http::async_request_handler{
        [this](http::server_request req, http::responder out) {
          serve_api(ctx_, std::move(req), std::move(out));
        }},
      limits);
    if (!started) {
      ADD_FAILURE() << started.err().describe();
      return;
    }
    server_ = std::move(*started);
  }

  /// Sends `bytes` on a new connection and returns the answer read until
  /// the server closes (every request here ends its connection).
  std::pair<std::string, bool> exchange(std::string_view bytes) {
    raw_client c{server_->port()};
    EXPECT_TRUE(c.connected());
    c.send(bytes);
    return c.read_to_close(clock_type::now() + patience);
  }

  /// A well-behaved client: its directory page is served.
  void expect_served() {
    auto [answer, closed] = exchange("GET /v1/tenants/t1/directory HTTP/1.1\r\n"
                                     "Host: x\r\n"
                                     "Authorization: Bearer good-token\r\n"
                                     "Connection: close\r\n\r\n");
    EXPECT_EQ(status_of(answer), 200) << answer.substr(0, 300);
    EXPECT_NE(body_of(answer).find("g-ada"), std::string::npos);
    EXPECT_TRUE(closed);
  }

  caf::actor_system_config sys_cfg_;
  caf::actor_system sys_{sys_cfg_};
  std::vector<std::unique_ptr<tenant_runtime>> tenants_;
  std::unique_ptr<tenant_directory> dir_;
  api_context ctx_;
  std::unique_ptr<http::server> server_;
};

/// One hostile request and what it must get.
struct hostile_case {
  std::string name;
  std::string bytes;
  int status;             ///< the answer's status; 0: closed, no answer
  std::string must_not{}; ///< text the answer must not hold
};

std::string get(std::string target, std::string headers = {}) {
  return "GET " + target + " HTTP/1.1\r\nHost: x\r\n" + headers +
         "Connection: close\r\n\r\n";
}

constexpr std::string_view good = "Authorization: Bearer good-token\r\n";

std::vector<hostile_case> hostile_cases() {
  std::string auth{good};
  std::string call_head = "POST /v1/tenants/t1/calls HTTP/1.1\r\nHost: x\r\n" +
                          auth + "Content-Type: application/json\r\n";
  return {
    // Sizes: the body and header limits, and a request line past them.
    {"body over the limit",
     call_head + "Content-Length: 2000000\r\nConnection: close\r\n\r\n", 413},
    {"header over the limit",
     get("/healthz", "X-Big: " + std::string(9000, 'a') + "\r\n"), 431},
    {"many headers over the limit",
     [] {
       std::string h;
       for (int i = 0; i < 600; ++i) {
         h += "X-" + std::to_string(i) + ": abcdefgh\r\n";
       }
       return get("/healthz", h);
     }(),
     431},
    {"huge query string",
     get("/v1/tenants/t1/directory?q=" + std::string(20000, 'a'), auth), 414},
    {"long query string within the limits",
     get("/v1/tenants/t1/directory?q=" + std::string(5000, 'a'), auth), 400},
    {"many query parameters",
     [&] {
       std::string q;
       for (int i = 0; i < 500; ++i) {
         q += "limit=1&";
       }
       return get("/v1/tenants/t1/directory?" + q, auth);
     }(),
     400},

    // Framing: chunking, lengths and request lines a parser must refuse.
    {"chunk size not hex",
     call_head +
       "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\nZZ\r\n{}\r\n"
       "0\r\n\r\n",
     400},
    {"chunk size overflowing",
     call_head + "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                 "fffffffffffffffffffff\r\n{}\r\n0\r\n\r\n",
     400},
    {"chunks over the body limit",
     call_head +
       "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
       "8000\r\n" +
       std::string(0x8000, 'a') + "\r\n0\r\n\r\n",
     413},
    {"chunked and a length together",
     call_head + "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n"
                 "Connection: close\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
     400},
    {"length not a number",
     call_head + "Content-Length: 12abc\r\nConnection: close\r\n\r\n{}", 400},
    {"two different lengths",
     call_head + "Content-Length: 2\r\nContent-Length: 3\r\n"
                 "Connection: close\r\n\r\n{}",
     400},
    {"garbage request line", "\x01\x02\x03 garbage\r\n\r\n", 400},
    {"header line without colon", get("/healthz", "NoColonHere\r\n"), 400},
    {"NUL in a header value", get("/healthz", std::string{"X-A: a\0b\r\n", 10}),
     400},

    // Invalid UTF-8, in the body and in the query.
    {"invalid UTF-8 in the body",
     [&] {
       std::string body = "{\"agent\":\"\xff\xfe\",\"person\":\"x\"}";
       return call_head + "Content-Length: " + std::to_string(body.size()) +
              "\r\nConnection: close\r\n\r\n" + body;
     }(),
     400},
    {"invalid UTF-8 in a query value",
     get("/v1/tenants/t1/directory?q=%ff%fe", auth), 400},
    {"invalid UTF-8 in a query name",
     get("/v1/tenants/t1/directory?%c3%28=1", auth), 400},
    {"overlong UTF-8 slash in the query",
     get("/v1/tenants/t1/directory?q=%c0%af", auth), 400},

    // The status drawer's files: only those built in, whatever the path.
    {"dot-dot in /ui/", get("/ui/../../etc/passwd"), 404, "root:"},
    {"encoded dot-dot in /ui/", get("/ui/%2e%2e/%2e%2e/etc/passwd"), 404,
     "root:"},
    {"encoded slash in /ui/", get("/ui/..%2f..%2fetc%2fpasswd"), 404, "root:"},
    {"NUL in /ui/", get("/ui/index.html%00.png"), 404},
    {"raw NUL in the target", get(std::string{"/ui/a\0b", 8}), 400},
    {"dot segment before a real file", get("/ui/./index.html"), 404},
    {"backslash in /ui/", get("/ui/..\\..\\etc\\passwd"), 404, "root:"},

    // Tokens: missing, wrong, malformed; the same answer for all.
    {"no token", get("/v1/tenants"), 401},
    {"wrong token", get("/v1/tenants", "Authorization: Bearer bad\r\n"), 401},
    {"token as a prefix",
     get("/v1/tenants", "Authorization: Bearer good-tokenX\r\n"), 401},
    {"empty bearer", get("/v1/tenants", "Authorization: Bearer \r\n"), 401},
    {"basic scheme",
     get("/v1/tenants", "Authorization: Basic Z29vZC10b2tlbg==\r\n"), 401},
    {"token in the query", get("/v1/tenants?access_token=good-token"), 401},
    {"no token for a real person", get("/v1/tenants/t1/people/g-ada"), 401,
     "g-ada"},
    {"no token for an unknown person", get("/v1/tenants/t1/people/nobody"), 401,
     "nobody"},
    {"wrong token for a real tenant",
     get("/v1/tenants/t1/directory", "Authorization: Bearer bad\r\n"), 401,
     "Ada"},

    // Paths: wrong tenant, traversal past the tenant, unknown routes.
    {"wrong tenant", get("/v1/tenants/t2/directory", auth), 404},
    {"tenant by traversal", get("/v1/tenants/t2/../t1/directory", auth), 404},
    {"encoded tenant", get("/v1/tenants/%74%31/directory", auth), 404},
    {"unknown route", get("/v1/tenants/t1/secrets", auth), 404},
    {"person id with NUL", get("/v1/tenants/t1/people/g-ada%00", auth), 400},
  };
}

TEST_F(HostileClients, EachGetsItsAnswerAndAGoodClientIsServedThroughout) {
  ASSERT_TRUE(server_);
  expect_served();

  for (const auto& c : hostile_cases()) {
    SCOPED_TRACE(c.name);

    auto [answer, closed] = exchange(c.bytes);

    EXPECT_TRUE(closed) << "the server kept the connection open";
    EXPECT_EQ(status_of(answer), c.status) << answer.substr(0, 300);
    if (!c.must_not.empty()) {
      EXPECT_EQ(answer.find(c.must_not), std::string::npos);
    }
    expect_served();
  }
}

TEST_F(HostileClients, AllUnauthenticatedAnswersAreTheSame) {
  ASSERT_TRUE(server_);

  // Whether the tenant or the person exists must not show.
  std::vector<std::string> bodies;
  for (auto target :
       {"/v1/tenants", "/v1/tenants/t1/people/g-ada",
        "/v1/tenants/t1/people/nobody", "/v1/tenants/nope/people/g-ada",
        "/v1/tenants/t1/directory?q=ada", "/v1/anything"}) {
    auto [answer, closed] = exchange(get(target));
    EXPECT_EQ(status_of(answer), 401) << target;
    bodies.push_back(body_of(answer));
  }

  for (const auto& b : bodies) {
    EXPECT_EQ(b, bodies.front());
  }
}

TEST_F(HostileClients, SlowLorisHeadersAreCutOffByTheReadTimeout) {
  ASSERT_TRUE(server_);
  raw_client loris{server_->port()};
  ASSERT_TRUE(loris.connected());
  std::string request = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ";
  auto deadline = clock_type::now() + patience;

  // One byte at a time, for ever: the server must close the connection.
  // The well-behaved client is served while the loris hangs on.
  bool closed = false;
  size_t sent = 0;
  while (!closed && clock_type::now() < deadline) {
    auto byte = sent < request.size() ? request[sent] : 'a';
    if (!loris.send(std::string_view{&byte, 1})) {
      closed = true;
      break;
    }
    ++sent;
    if (sent == 3) {
      expect_served();
    }
    closed = loris.closed_within(20ms);
  }

  EXPECT_TRUE(closed) << "a client sending a byte every 20 ms was never cut "
                         "off (sent "
                      << sent << " bytes)";
  expect_served();
}

TEST_F(HostileClients, SlowBodyIsCutOffByTheReadTimeout) {
  ASSERT_TRUE(server_);
  raw_client loris{server_->port()};
  ASSERT_TRUE(loris.connected());
  ASSERT_TRUE(loris.send("POST /v1/tenants/t1/calls HTTP/1.1\r\nHost: x\r\n"
                         "Authorization: Bearer good-token\r\n"
                         "Content-Type: application/json\r\n"
                         "Content-Length: 10000\r\n\r\n"));
  auto deadline = clock_type::now() + patience;

  bool closed = false;
  while (!closed && clock_type::now() < deadline) {
    if (!loris.send(" ")) {
      closed = true;
      break;
    }
    closed = loris.closed_within(20ms);
  }

  EXPECT_TRUE(closed);
  expect_served();
}

TEST_F(HostileClients, AnIdleConnectionIsClosed) {
  ASSERT_TRUE(server_);
  raw_client idle{server_->port()};
  ASSERT_TRUE(idle.connected());

  // Nothing sent at all: the read timeout ends it without an answer.
  auto [answer, closed] = idle.read_to_close(clock_type::now() + patience);

  EXPECT_TRUE(closed);
  EXPECT_EQ(answer, "");
  expect_served();
}

TEST_F(HostileClients, AClientThatNeverReadsItsAnswersBlocksNoOne) {
  ASSERT_TRUE(server_);
  raw_client greedy{server_->port()};
  ASSERT_TRUE(greedy.connected());

  // Pipelined requests whose answers are never read: the server's writes
  // time out and it closes, instead of buffering without end.
  std::string one = "GET /ui/ HTTP/1.1\r\nHost: x\r\n\r\n";
  std::string many;
  for (int i = 0; i < 2000; ++i) {
    many += one;
  }
  greedy.send(many);

  expect_served();
}

} // namespace
} // namespace presync::app
