// Tests of the HTTPS client against Beast servers and a CONNECT proxy on
// 127.0.0.1, with a CA and certificates made by the openssl command line.
#include <utility> // before Asio: Boost 1.74 under C++20

#include "adapters/http/client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <thread>

namespace presync::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using boost::system::error_code;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

auto ec_token(error_code& ec) {
  return asio::redirect_error(asio::use_awaitable, ec);
}

// -- certificates -------------------------------------------------------------

// A test CA and two leaf certificates: one for localhost/127.0.0.1, one
// for another name. Made once per test run in a temporary folder.
struct test_pki {
  fs::path dir;
  std::string ca, good_cert, good_key, wrong_cert, wrong_key;
  bool ok = false;
};

bool run(const std::string& command) {
  return std::system((command + " >/dev/null 2>&1").c_str()) == 0;
}

test_pki make_pki() {
  test_pki p;
  std::string templ = (fs::temp_directory_path() / "presync-tls-XXXXXX");
  if (mkdtemp(templ.data()) == nullptr) {
    return p;
  }
  p.dir = templ;
  auto at = [&](const char* name) {
    return (p.dir / name).string();
  };
  p.ca = at("ca.pem");
  std::string key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  bool ok = run("openssl req -x509 " + key + " -keyout " + at("ca.key") +
                " -out " + p.ca +
                " -days 2 -subj /CN=presync-test-ca"
                " -addext basicConstraints=critical,CA:TRUE"
                " -addext keyUsage=critical,keyCertSign,cRLSign");
  auto leaf = [&](const std::string& stem, const std::string& san) {
    std::ofstream{at((stem + ".ext").c_str())}
      << "subjectAltName=" << san << "\nbasicConstraints=CA:FALSE\n"
      << "extendedKeyUsage=serverAuth\n";
    return run("openssl req " + key + " -keyout " +
               at((stem + ".key").c_str()) + " -out " +
               at((stem + ".csr").c_str()) + " -subj /CN=" + stem) &&
           run("openssl x509 -req -in " + at((stem + ".csr").c_str()) +
               " -CA " + p.ca + " -CAkey " + at("ca.key") +
               " -CAcreateserial -days 2 -out " + at((stem + ".pem").c_str()) +
               " -extfile " + at((stem + ".ext").c_str()));
  };
  ok = ok && leaf("good", "DNS:localhost,IP:127.0.0.1") &&
       leaf("wrong", "DNS:wrong.example");
  p.good_cert = at("good.pem");
  p.good_key = at("good.key");
  p.wrong_cert = at("wrong.pem");
  p.wrong_key = at("wrong.key");
  p.ok = ok;
  return p;
}

const test_pki& pki() {
  static test_pki p = make_pki();
  return p;
}

// -- a test server
// -------------------------------------------------------------

enum class behaviour {
  answer,             ///< 200 with the configured body, keep-alive
  never_answer,       ///< read the request, then stay silent
  close_after_answer, ///< answer with keep-alive, then close the socket
};

// A Beast server on 127.0.0.1:0 with its own thread. Counts accepts,
// requests and the most requests it held at once.
class test_server {
 public:
  struct config {
    behaviour mode = behaviour::answer;
    std::string body = "hello";
    std::string cert, key; ///< TLS when set
    size_t hold_until = 0; ///< hold answers until this many are pending
    bool chunked = false;  ///< send the body chunked, without a length
  };

  explicit test_server(config cfg)
    : cfg_(std::move(cfg)), tls_(ssl::context::tls_server),
      acceptor_(io_, tcp::endpoint{asio::ip::make_address("127.0.0.1"), 0}),
      release_(io_) {
    if (!cfg_.cert.empty()) {
      tls_.use_certificate_chain_file(cfg_.cert);
      tls_.use_private_key_file(cfg_.key, ssl::context::pem);
    }
    release_.expires_at(asio::steady_timer::time_point::max());
    asio::co_spawn(io_, accept_loop(), asio::detached);
    thread_ = std::thread{[this] {
      io_.run();
    }};
  }

  ~test_server() {
    io_.stop();
    thread_.join();
  }

  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  int accepts() const { return accepts_.load(); }
  int requests() const { return requests_.load(); }
  size_t max_pending() const { return max_pending_.load(); }

  std::string last_target() {
    std::lock_guard<std::mutex> guard{mutex_};
    return last_target_;
  }

  std::string last_host() {
    std::lock_guard<std::mutex> guard{mutex_};
    return last_host_;
  }

 private:
  asio::awaitable<void> accept_loop() {
    for (;;) {
      error_code ec;
      tcp::socket socket{io_};
      co_await acceptor_.async_accept(socket, ec_token(ec));
      if (ec) {
        co_return;
      }
      ++accepts_;
      asio::co_spawn(io_, session(std::move(socket)), asio::detached);
    }
  }

  asio::awaitable<void> session(tcp::socket socket) {
    beast::tcp_stream plain{std::move(socket)};
    if (cfg_.cert.empty()) {
      co_await serve(plain);
      co_return;
    }
    beast::ssl_stream<beast::tcp_stream> stream{std::move(plain), tls_};
    error_code ec;
    co_await stream.async_handshake(ssl::stream_base::server, ec_token(ec));
    if (!ec) {
      co_await serve(stream);
    }
  }

  template <class Stream>
  asio::awaitable<void> serve(Stream& stream) {
    beast::flat_buffer buffer;
    for (;;) {
      error_code ec;
      bhttp::request<bhttp::string_body> req;
      co_await bhttp::async_read(stream, buffer, req, ec_token(ec));
      if (ec) {
        co_return;
      }
      ++requests_;
      {
        std::lock_guard<std::mutex> guard{mutex_};
        last_target_ = std::string{req.target()};
        last_host_ = std::string{req[bhttp::field::host]};
      }
      if (cfg_.mode == behaviour::never_answer) {
        asio::steady_timer forever{io_, asio::steady_timer::time_point::max()};
        co_await forever.async_wait(ec_token(ec));
        co_return;
      }
      if (cfg_.hold_until > 0) {
        ++pending_;
        max_pending_ = std::max(max_pending_.load(), pending_);
        if (pending_ >= cfg_.hold_until) {
          released_ = true;
          release_.cancel();
        }
        while (!released_) {
          co_await release_.async_wait(ec_token(ec));
        }
        --pending_;
      }

      bhttp::response<bhttp::string_body> res{bhttp::status::ok, 11};
      res.set(bhttp::field::content_type, "text/plain");
      res.set("request-id", "rid-" + std::to_string(requests_.load()));
      res.body() = cfg_.body;
      res.keep_alive(true);
      if (cfg_.chunked) {
        res.chunked(true);
      } else {
        res.prepare_payload();
      }
      co_await bhttp::async_write(stream, res, ec_token(ec));
      if (ec || cfg_.mode == behaviour::close_after_answer) {
        beast::get_lowest_layer(stream).socket().close(ec);
        co_return;
      }
    }
  }

  config cfg_;
  asio::io_context io_;
  ssl::context tls_;
  tcp::acceptor acceptor_;
  asio::steady_timer release_;
  bool released_ = false;
  size_t pending_ = 0;
  std::atomic<int> accepts_{0};
  std::atomic<int> requests_{0};
  std::atomic<size_t> max_pending_{0};
  std::mutex mutex_;
  std::string last_target_;
  std::string last_host_;
  std::thread thread_;
};

// -- a CONNECT proxy
// -----------------------------------------------------------

// Accepts CONNECT and tunnels to 127.0.0.1 at the requested port only, so
// nothing ever leaves loopback. Records what was asked.
class test_proxy {
 public:
  test_proxy()
    : acceptor_(io_, tcp::endpoint{asio::ip::make_address("127.0.0.1"), 0}) {
    asio::co_spawn(io_, accept_loop(), asio::detached);
    thread_ = std::thread{[this] {
      io_.run();
    }};
  }

  ~test_proxy() {
    io_.stop();
    thread_.join();
  }

  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  int connects() const { return connects_.load(); }

  std::string last_request() {
    std::lock_guard<std::mutex> guard{mutex_};
    return last_request_;
  }

 private:
  asio::awaitable<void> accept_loop() {
    for (;;) {
      error_code ec;
      tcp::socket socket{io_};
      co_await acceptor_.async_accept(socket, ec_token(ec));
      if (ec) {
        co_return;
      }
      asio::co_spawn(io_, tunnel(std::move(socket)), asio::detached);
    }
  }

  static asio::awaitable<void> pump(std::shared_ptr<tcp::socket> from,
                                    std::shared_ptr<tcp::socket> to) {
    std::array<char, 8192> data{};
    for (;;) {
      error_code ec;
      auto n = co_await from->async_read_some(asio::buffer(data), ec_token(ec));
      if (ec) {
        break;
      }
      co_await asio::async_write(*to, asio::buffer(data.data(), n),
                                 ec_token(ec));
      if (ec) {
        break;
      }
    }
    error_code ignored;
    to->shutdown(tcp::socket::shutdown_send, ignored);
  }

  asio::awaitable<void> tunnel(tcp::socket socket) {
    auto client = std::make_shared<tcp::socket>(std::move(socket));
    beast::flat_buffer buffer;
    bhttp::request_parser<bhttp::empty_body> parser;
    error_code ec;
    co_await bhttp::async_read_header(*client, buffer, parser, ec_token(ec));
    if (ec) {
      co_return;
    }
    auto& req = parser.get();
    std::string target{req.target()};
    {
      std::lock_guard<std::mutex> guard{mutex_};
      last_request_ = std::string{req.method_string()} + " " + target;
    }
    auto colon = target.rfind(':');
    if (req.method() != bhttp::verb::connect || colon == std::string::npos) {
      co_return;
    }
    ++connects_;
    auto upstream = std::make_shared<tcp::socket>(io_);
    auto port = static_cast<uint16_t>(std::stoi(target.substr(colon + 1)));
    co_await upstream->async_connect(
      tcp::endpoint{asio::ip::make_address("127.0.0.1"), port}, ec_token(ec));
    if (ec) {
      co_return;
    }
    std::string ok = "HTTP/1.1 200 Connection established\r\n\r\n";
    co_await asio::async_write(*client, asio::buffer(ok), ec_token(ec));
    asio::co_spawn(io_, pump(client, upstream), asio::detached);
    asio::co_spawn(io_, pump(upstream, client), asio::detached);
  }

  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::atomic<int> connects_{0};
  std::mutex mutex_;
  std::string last_request_;
  std::thread thread_;
};

// -- fixture
// -------------------------------------------------------------------

class HttpClient : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(pki().ok) << "openssl could not make test certificates";
  }

  static client_config trusting_config() {
    client_config cfg;
    cfg.use_system_ca = false;
    cfg.extra_ca_file = pki().ca;
    cfg.env = empty_environment();
    return cfg;
  }

  static std::unique_ptr<client> make(client_config cfg) {
    auto c = client::make(std::move(cfg));
    if (!c) {
      ADD_FAILURE() << c.err().describe();
      return nullptr;
    }
    return std::move(*c);
  }

  static test_server::config tls_server(std::string body = "hello") {
    test_server::config cfg;
    cfg.cert = pki().good_cert;
    cfg.key = pki().good_key;
    cfg.body = std::move(body);
    return cfg;
  }

  static http_request get(std::string url) {
    http_request req;
    req.url = std::move(url);
    return req;
  }

  static request_options short_timeouts() {
    request_options o;
    o.connect_timeout = 5s;
    o.read_timeout = 5s;
    o.total_timeout = 10s;
    return o;
  }
};

std::string url(bool tls, const std::string& host, uint16_t port,
                const std::string& path = "/") {
  return std::string{tls ? "https://" : "http://"} + host + ":" +
         std::to_string(port) + path;
}

// -- TLS
// -----------------------------------------------------------------------

TEST_F(HttpClient, TlsRequestSucceedsWhenTheCaIsTrusted) {
  test_server server{tls_server("hello over tls")};
  auto c = make(trusting_config());

  auto r = c->send(get(url(true, "localhost", server.port(), "/v1.0/me?x=1")),
                   short_timeouts());

  ASSERT_TRUE(r) << r.err().describe();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello over tls");
  EXPECT_EQ(r->headers.find("REQUEST-ID"), "rid-1");
  EXPECT_EQ(server.last_target(), "/v1.0/me?x=1");
  EXPECT_EQ(server.last_host(), "localhost:" + std::to_string(server.port()));
}

TEST_F(HttpClient, UntrustedCaFailsWithTlsFailed) {
  test_server server{tls_server()};
  auto cfg = trusting_config();
  cfg.extra_ca_file.clear();
  auto c = make(cfg);

  auto r =
    c->send(get(url(true, "127.0.0.1", server.port())), short_timeouts());

  ASSERT_FALSE(r);
  EXPECT_EQ(r.err().code, sync_error::tls_failed);
  EXPECT_NE(r.err().context.find("certificate verify failed"),
            std::string::npos)
    << r.err().context;
}

TEST_F(HttpClient, HostNameMismatchFailsWithTlsFailed) {
  auto cfg = tls_server();
  cfg.cert = pki().wrong_cert;
  cfg.key = pki().wrong_key;
  test_server server{cfg};
  auto c = make(trusting_config());

  auto r =
    c->send(get(url(true, "localhost", server.port())), short_timeouts());

  ASSERT_FALSE(r);
  EXPECT_EQ(r.err().code, sync_error::tls_failed);
  EXPECT_EQ(server.requests(), 0);
}

TEST_F(HttpClient, DisabledVerificationLogsAWarningAndConnects) {
  test_server server{tls_server()};
  std::vector<std::string> events;
  client_config cfg;
  cfg.verify_tls = false;
  cfg.env = empty_environment();
  cfg.log = [&](log_level level, std::string_view event, std::string_view) {
    if (level == log_level::warning) {
      events.emplace_back(event);
    }
  };
  auto c = make(cfg);

  auto r =
    c->send(get(url(true, "127.0.0.1", server.port())), short_timeouts());

  EXPECT_EQ(events, std::vector<std::string>{"tls_verification_disabled"});
  ASSERT_TRUE(r) << r.err().describe();
  EXPECT_EQ(r->status, 200);
}

TEST_F(HttpClient, MissingExtraCaFileIsConfigInvalid) {
  auto cfg = trusting_config();
  cfg.extra_ca_file = (pki().dir / "absent.pem").string();

  auto c = client::make(cfg);

  ASSERT_FALSE(c);
  EXPECT_EQ(c.err().code, sync_error::config_invalid);
}

// -- pool
// ----------------------------------------------------------------------

TEST_F(HttpClient, SequentialRequestsReuseOneConnection) {
  test_server server{tls_server()};
  auto c = make(trusting_config());

  for (int i = 0; i < 3; ++i) {
    auto r =
      c->send(get(url(true, "127.0.0.1", server.port())), short_timeouts());
    ASSERT_TRUE(r) << r.err().describe();
  }

  EXPECT_EQ(server.accepts(), 1);
  EXPECT_EQ(server.requests(), 3);
  EXPECT_EQ(c->stats().connections_opened, 1u);
  EXPECT_EQ(c->stats().requests_sent, 3u);
}

TEST_F(HttpClient, ConcurrentRequestsNeverExceedThePoolCap) {
  test_server::config scfg;
  scfg.hold_until = 2; // proves two run at once, else every request times out
  test_server server{scfg};
  auto cfg = trusting_config();
  cfg.max_connections_per_host = 2;
  auto c = make(cfg);
  std::vector<std::promise<expected<http_response>>> results(6);

  for (auto& p : results) {
    c->async_send(get(url(false, "127.0.0.1", server.port())), short_timeouts(),
                  [&p](expected<http_response> r) { p.set_value(r); });
  }

  for (auto& p : results) {
    auto r = p.get_future().get();
    ASSERT_TRUE(r) << r.err().describe();
    EXPECT_EQ(r->status, 200);
  }
  EXPECT_EQ(server.accepts(), 2);
  EXPECT_EQ(server.max_pending(), 2u);
  EXPECT_EQ(server.requests(), 6);
}

TEST_F(HttpClient, PooledConnectionClosedByPeerIsRetriedOnceForGet) {
  test_server::config scfg;
  scfg.mode = behaviour::close_after_answer;
  test_server server{scfg};
  auto c = make(trusting_config());
  auto target = url(false, "127.0.0.1", server.port());

  auto first = c->send(get(target), short_timeouts());
  auto second = c->send(get(target), short_timeouts());

  ASSERT_TRUE(first) << first.err().describe();
  ASSERT_TRUE(second) << second.err().describe();
  EXPECT_EQ(second->status, 200);
  EXPECT_EQ(server.accepts(), 2);
  EXPECT_EQ(c->stats().stale_retries, 1u);
}

TEST_F(HttpClient, PooledConnectionClosedByPeerIsNotRetriedForPost) {
  test_server::config scfg;
  scfg.mode = behaviour::close_after_answer;
  test_server server{scfg};
  auto c = make(trusting_config());
  auto post = get(url(false, "127.0.0.1", server.port()));
  post.method = "POST";
  post.body = "{}";

  auto first = c->send(post, short_timeouts());
  auto second = c->send(post, short_timeouts());

  ASSERT_TRUE(first) << first.err().describe();
  ASSERT_FALSE(second);
  EXPECT_EQ(second.err().code, sync_error::unavailable);
  EXPECT_EQ(c->stats().stale_retries, 0u);
  EXPECT_EQ(server.accepts(), 1);
}

// -- limits
// --------------------------------------------------------------------

TEST_F(HttpClient, SilentServerEndsInReadTimeout) {
  test_server::config scfg;
  scfg.mode = behaviour::never_answer;
  test_server server{scfg};
  auto c = make(trusting_config());
  auto opts = short_timeouts();
  opts.read_timeout = 200ms;
  auto started = std::chrono::steady_clock::now();

  auto r = c->send(get(url(false, "127.0.0.1", server.port())), opts);

  ASSERT_FALSE(r);
  EXPECT_EQ(r.err().code, sync_error::timeout);
  EXPECT_EQ(r.err().context, "read response: timed out");
  // An upper bound only: far below the 10 s total budget.
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
}

TEST_F(HttpClient, TotalTimeoutBoundsTheWholeRequest) {
  test_server::config scfg;
  scfg.mode = behaviour::never_answer;
  test_server server{scfg};
  auto c = make(trusting_config());
  auto opts = short_timeouts();
  opts.total_timeout = 200ms;

  auto r = c->send(get(url(false, "127.0.0.1", server.port())), opts);

  ASSERT_FALSE(r);
  EXPECT_EQ(r.err().code, sync_error::timeout);
}

TEST_F(HttpClient, BodyOverTheLimitIsTooLarge) {
  test_server server{tls_server(std::string(10000, 'x'))};
  auto c = make(trusting_config());
  auto opts = short_timeouts();
  opts.max_response_bytes = 1024;

  auto r = c->send(get(url(true, "127.0.0.1", server.port())), opts);

  ASSERT_FALSE(r) << r->status << " " << r->body.size();
  EXPECT_EQ(r.err().code, sync_error::too_large);
  EXPECT_EQ(r.err().context, "read response: response exceeds the size limit");
}

TEST_F(HttpClient, ChunkedBodyOverTheLimitIsTooLarge) {
  test_server::config scfg;
  scfg.body = std::string(10000, 'y');
  scfg.chunked = true;
  test_server server{scfg};
  auto c = make(trusting_config());
  auto opts = short_timeouts();
  opts.max_response_bytes = 1024;

  auto r = c->send(get(url(false, "127.0.0.1", server.port())), opts);

  ASSERT_FALSE(r) << r->status << " " << r->body.size();
  EXPECT_EQ(r.err().code, sync_error::too_large);
}

TEST_F(HttpClient, BodyWithinTheLimitArrivesWhole) {
  test_server server{tls_server(std::string(1024, 'z'))};
  auto c = make(trusting_config());
  auto opts = short_timeouts();
  opts.max_response_bytes = 1024;

  auto r = c->send(get(url(true, "127.0.0.1", server.port())), opts);

  ASSERT_TRUE(r) << r.err().describe();
  EXPECT_EQ(r->body, std::string(1024, 'z'));
}

TEST_F(HttpClient, RefusedConnectionIsUnavailable) {
  uint16_t port = 0;
  {
    asio::io_context io;
    tcp::acceptor a{io, tcp::endpoint{asio::ip::make_address("127.0.0.1"), 0}};
    port = a.local_endpoint().port();
  }
  auto c = make(trusting_config());

  auto r = c->send(get(url(false, "127.0.0.1", port)), short_timeouts());

  ASSERT_FALSE(r);
  EXPECT_EQ(r.err().code, sync_error::unavailable);
}

TEST_F(HttpClient, DestroyingTheClientCancelsRequestsInFlight) {
  test_server::config scfg;
  scfg.mode = behaviour::never_answer;
  test_server server{scfg};
  auto c = make(trusting_config());
  std::promise<expected<http_response>> result;
  auto done = result.get_future();
  c->async_send(get(url(false, "127.0.0.1", server.port())), short_timeouts(),
                [&result](expected<http_response> r) { result.set_value(r); });
  // Wait, bounded, until the request is in flight.
  auto give_up = std::chrono::steady_clock::now() + 5s;
  while (server.requests() == 0 && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::yield();
  }
  ASSERT_EQ(server.requests(), 1);

  c.reset();

  ASSERT_EQ(done.wait_for(0s), std::future_status::ready);
  auto r = done.get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.err().code, sync_error::canceled);
}

TEST_F(HttpClient, ObserverSeesEachAnswerAndEachFailureBeforeTheCaller) {
  test_server server{tls_server("observed")};
  uint16_t closed_port = 0;
  {
    asio::io_context io;
    tcp::acceptor a{io, tcp::endpoint{asio::ip::make_address("127.0.0.1"), 0}};
    closed_port = a.local_endpoint().port();
  }
  std::vector<std::string> seen;
  auto cfg = trusting_config();
  cfg.observe = [&seen](const http_request& req,
                        const expected<http_response>& answer,
                        std::chrono::steady_clock::duration elapsed) {
    EXPECT_GE(elapsed, std::chrono::steady_clock::duration::zero());
    seen.push_back(req.url + " " +
                   (answer ? std::to_string(answer->status)
                           : std::string{to_string(answer.err().code)}));
  };
  auto c = make(std::move(cfg));
  const auto good = url(true, "localhost", server.port(), "/v1.0/me");
  const auto refused = url(false, "127.0.0.1", closed_port);

  auto first = c->send(get(good), short_timeouts());
  auto second = c->send(get(refused), short_timeouts());

  ASSERT_TRUE(first) << first.err().describe();
  ASSERT_FALSE(second);
  EXPECT_EQ(
    seen, (std::vector<std::string>{good + " 200", refused + " unavailable"}));
}

TEST_F(HttpClient, BadUrlIsConfigInvalid) {
  auto c = make(trusting_config());

  auto r = c->send(get("ftp://127.0.0.1/x"), short_timeouts());

  ASSERT_FALSE(r);
  EXPECT_EQ(r.err().code, sync_error::config_invalid);
}

// -- proxy
// ---------------------------------------------------------------------

env_fn env_of(std::map<std::string, std::string> vars) {
  return [vars](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string{name});
    if (it == vars.end()) {
      return std::nullopt;
    }
    return it->second;
  };
}

TEST_F(HttpClient, HttpsGoesThroughConnectProxy) {
  test_server server{tls_server("tunnelled")};
  test_proxy proxy;
  auto cfg = trusting_config();
  cfg.env = env_of(
    {{"HTTPS_PROXY", "http://127.0.0.1:" + std::to_string(proxy.port())}});
  auto c = make(cfg);

  auto r =
    c->send(get(url(true, "localhost", server.port())), short_timeouts());

  ASSERT_TRUE(r) << r.err().describe();
  EXPECT_EQ(r->body, "tunnelled");
  EXPECT_EQ(proxy.connects(), 1);
  EXPECT_EQ(proxy.last_request(),
            "CONNECT localhost:" + std::to_string(server.port()));
}

TEST_F(HttpClient, NoProxyListBypassesTheProxy) {
  test_server server{tls_server()};
  test_proxy proxy;
  auto cfg = trusting_config();
  cfg.env =
    env_of({{"https_proxy", "127.0.0.1:" + std::to_string(proxy.port())},
            {"NO_PROXY", "example.com, localhost"}});
  auto c = make(cfg);

  auto r =
    c->send(get(url(true, "localhost", server.port())), short_timeouts());

  ASSERT_TRUE(r) << r.err().describe();
  EXPECT_EQ(proxy.connects(), 0);
  EXPECT_EQ(server.accepts(), 1);
}

TEST(ChooseProxy, PicksBySchemeAndHonoursNoProxy) {
  auto env = env_of({{"HTTPS_PROXY", "http://proxy.corp:3128"},
                     {"HTTP_PROXY", "http://plain.corp:8080"},
                     {"NO_PROXY", ".internal.example,10.0.0.1,host:8443"}});
  auto at = [&](std::string u) {
    auto parts = parse_url(u);
    EXPECT_TRUE(parts);
    auto p = choose_proxy(*parts, env);
    EXPECT_TRUE(p);
    return p->has_value() ? (*p)->host + ":" + std::to_string((*p)->port)
                          : std::string{"direct"};
  };

  EXPECT_EQ(at("https://graph.microsoft.com/"), "proxy.corp:3128");
  EXPECT_EQ(at("http://graph.microsoft.com/"), "plain.corp:8080");
  EXPECT_EQ(at("https://a.internal.example/"), "direct");
  EXPECT_EQ(at("https://internal.example/"), "direct");
  EXPECT_EQ(at("https://notinternal.example/"), "proxy.corp:3128");
  EXPECT_EQ(at("https://10.0.0.1/"), "direct");
  EXPECT_EQ(at("https://host:8443/"), "direct");
  EXPECT_EQ(at("https://host:443/"), "proxy.corp:3128");
}

TEST(ChooseProxy, HttpsProxyUrlIsNotImplemented) {
  auto env = env_of({{"HTTPS_PROXY", "https://proxy.corp:3128"}});
  auto parts = parse_url("https://x/");

  auto p = choose_proxy(*parts, env);

  ASSERT_FALSE(p);
  EXPECT_EQ(p.err().code, sync_error::not_implemented);
}

} // namespace
} // namespace presync::http
