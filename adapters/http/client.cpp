// The only translation unit of the HTTP adapter that includes Beast.
#include <utility> // before Asio: Boost 1.74 under C++20 (toolchain.md §5)

#include "adapters/http/client.hpp"

#include "protocol/status.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstdlib>
#include <deque>
#include <future>
#include <map>
#include <set>
#include <thread>

namespace presync::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using boost::system::error_code;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;

// -- environment and proxy ----------------------------------------------------

env_fn process_environment() {
  return [](std::string_view name) -> std::optional<std::string> {
    std::string key{name};
    if (const char* v = std::getenv(key.c_str())) {
      return std::string{v};
    }
    return std::nullopt;
  };
}

env_fn empty_environment() {
  return [](std::string_view) -> std::optional<std::string> {
    return std::nullopt;
  };
}

namespace {

std::optional<std::string> lookup(const env_fn& env, std::string_view upper,
                                  std::string_view lower) {
  if (!env) {
    return std::nullopt;
  }
  for (auto name : {lower, upper}) {
    if (auto v = env(name); v && !v->empty()) {
      return v;
    }
  }
  return std::nullopt;
}

bool ends_with_ci(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         iequals(s.substr(s.size() - suffix.size()), suffix);
}

bool no_proxy_matches(std::string_view list, const url_parts& target) {
  while (!list.empty()) {
    auto comma = list.find(',');
    auto item = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view{}
                                           : list.substr(comma + 1);
    while (!item.empty() && item.front() == ' ') {
      item.remove_prefix(1);
    }
    while (!item.empty() && item.back() == ' ') {
      item.remove_suffix(1);
    }
    if (item.empty()) {
      continue;
    }
    if (item == "*") {
      return true;
    }
    // An entry may carry a port ("host:8443"); then the port must match.
    if (auto colon = item.rfind(':'); colon != std::string_view::npos &&
                                      item.find(']') == item.npos &&
                                      item.find(':') == colon) {
      if (item.substr(colon + 1) != std::to_string(target.port)) {
        continue;
      }
      item = item.substr(0, colon);
    }
    if (item.front() == '.') {
      item.remove_prefix(1);
    }
    if (iequals(item, target.host) ||
        (ends_with_ci(target.host, item) && target.host.size() > item.size() &&
         target.host[target.host.size() - item.size() - 1] == '.')) {
      return true;
    }
  }
  return false;
}

} // namespace

expected<std::optional<proxy_choice>> choose_proxy(const url_parts& target,
                                                   const env_fn& env) {
  auto value = target.tls ? lookup(env, "HTTPS_PROXY", "https_proxy")
                          : lookup(env, "HTTP_PROXY", "http_proxy");
  if (!value) {
    return std::optional<proxy_choice>{};
  }
  if (auto no = lookup(env, "NO_PROXY", "no_proxy");
      no && no_proxy_matches(*no, target)) {
    return std::optional<proxy_choice>{};
  }
  std::string url = *value;
  if (url.find("://") == std::string::npos) {
    url = "http://" + url;
  }
  if (url.rfind("http://", 0) != 0) {
    // TODO: only plain-HTTP proxies are supported; an https:// proxy
    // needs TLS to the proxy before CONNECT.
    return make_error(sync_error::not_implemented,
                      "proxy: only http:// proxies are supported");
  }
  auto parts = parse_url(url);
  if (!parts) {
    auto e = parts.err();
    e.context = "proxy " + e.context;
    return e;
  }
  return std::optional<proxy_choice>{proxy_choice{parts->host, parts->port}};
}

// -- connections and the pool -------------------------------------------------

namespace {

using executor = asio::strand<asio::io_context::executor_type>;
using tls_stream = beast::ssl_stream<beast::tcp_stream>;

struct connection {
  std::optional<beast::tcp_stream> plain;
  std::optional<tls_stream> tls;
  beast::flat_buffer buffer;
  bool reused = false;

  beast::tcp_stream& lowest() {
    return tls ? beast::get_lowest_layer(*tls) : *plain;
  }

  void close() {
    error_code ignored;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    lowest().socket().close(ignored);
  }
};

using connection_ptr = std::shared_ptr<connection>;

struct waiter {
  explicit waiter(const executor& ex) : timer(ex) {}
  asio::steady_timer timer;
  bool woken = false;
};

// TODO: idle pooled connections have no idle timeout, so one the peer has
// dropped is only noticed on reuse (the one retry for idempotent requests
// covers it); close idle connections after a configurable time instead.
struct host_pool {
  std::vector<connection_ptr> idle;
  size_t open = 0;
  std::deque<std::shared_ptr<waiter>> waiters;
};

// Clamps a per-step timeout to what is left of the total budget.
steady::duration step_budget(duration step, steady::time_point deadline) {
  auto left = deadline - steady::now();
  if (left < steady::duration::zero()) {
    left = steady::duration::zero();
  }
  return std::min<steady::duration>(step, left);
}

bool is_ip_literal(const std::string& host) {
  error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

// Errors after which a reused connection may simply have been closed by the
// peer while it sat in the pool.
bool is_stale_error(const error_code& ec) {
  return ec == asio::error::eof || ec == bhttp::error::end_of_stream ||
         ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe ||
         ec == asio::error::connection_aborted ||
         ec == ssl::error::stream_truncated;
}

error io_error(const error_code& ec, std::string_view step,
               bool timed_out_total) {
  std::string what{step};
  if (ec == beast::error::timeout || timed_out_total) {
    return make_error(sync_error::timeout, what + ": timed out");
  }
  if (ec == asio::error::operation_aborted) {
    return make_error(sync_error::canceled, what + ": canceled");
  }
  if (ec == bhttp::error::body_limit || ec == bhttp::error::header_limit ||
      ec == bhttp::error::buffer_overflow) {
    return make_error(sync_error::too_large,
                      what + ": response exceeds the size limit");
  }
  if (ec.category() ==
      bhttp::make_error_code(bhttp::error::end_of_stream).category()) {
    if (ec == bhttp::error::end_of_stream ||
        ec == bhttp::error::partial_message) {
      return make_error(sync_error::unavailable,
                        what + ": connection closed by peer");
    }
    return make_error(sync_error::malformed,
                      what + ": invalid HTTP: " + ec.message());
  }
  if (ec == asio::error::host_not_found ||
      ec == asio::error::host_not_found_try_again ||
      ec == asio::error::no_data || ec == asio::error::network_unreachable ||
      ec == asio::error::host_unreachable) {
    return make_error(sync_error::connection_failed,
                      what + ": " + ec.message());
  }
  if (ec == asio::error::connection_refused ||
      ec == asio::error::connection_reset || ec == asio::error::eof ||
      ec == asio::error::broken_pipe || ec == asio::error::connection_aborted ||
      ec == ssl::error::stream_truncated) {
    return make_error(sync_error::unavailable, what + ": " + ec.message());
  }
  return make_error(sync_error::connection_failed, what + ": " + ec.message());
}

// Beast's message with a parsed answer, before copying out.
using parser_type = bhttp::response_parser<bhttp::string_body>;

// Makes a parser with the request's limits.
std::unique_ptr<parser_type> make_parser(const request_options& opts,
                                         bool head) {
  auto parser = std::make_unique<parser_type>();
  parser->body_limit(opts.max_response_bytes);
  parser->header_limit(64 * 1024);
  if (head) {
    parser->skip(true);
  }
  return parser;
}

} // namespace

struct client::impl : std::enable_shared_from_this<impl> {
  impl(client_config cfg, asio::io_context& io,
       std::unique_ptr<asio::io_context> owned = {})
    : own_io(std::move(owned)), config(std::move(cfg)),
      strand(asio::make_strand(io)), tls_context(ssl::context::tls_client) {}

  // Owned-thread mode only. Declared first so that it is destroyed last:
  // the strand, sockets and timers below refer to it.
  std::unique_ptr<asio::io_context> own_io;

  client_config config;
  executor strand;
  ssl::context tls_context;

  std::optional<asio::executor_work_guard<asio::io_context::executor_type>>
    work;
  std::thread thread;

  // Touched only on the strand.
  std::map<std::string, host_pool> pools;
  std::set<connection*> busy;
  bool stopping = false;

  std::atomic<uint64_t> connections_opened{0};
  std::atomic<uint64_t> requests_sent{0};
  std::atomic<uint64_t> stale_retries{0};

  void log(log_level level, std::string_view event, std::string_view text) {
    if (config.log) {
      config.log(level, event, text);
    }
  }

  expected<bool> setup_tls() {
    error_code ec;
    tls_context.set_options(ssl::context::default_workarounds |
                            ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                            ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    if (config.use_system_ca) {
      tls_context.set_default_verify_paths(ec);
      if (ec) {
        return make_error(sync_error::config_invalid,
                          "tls: cannot load the system CA store");
      }
    }
    if (!config.extra_ca_file.empty()) {
      tls_context.load_verify_file(config.extra_ca_file, ec);
      if (ec) {
        return make_error(sync_error::config_invalid,
                          "tls: cannot load extra_ca_file " +
                            config.extra_ca_file + ": " + ec.message());
      }
    }
    if (config.verify_tls) {
      tls_context.set_verify_mode(ssl::verify_peer);
    } else {
      tls_context.set_verify_mode(ssl::verify_none);
      log(log_level::warning, "tls_verification_disabled",
          "certificates and host names are not checked");
    }
    if (config.max_connections_per_host == 0) {
      return make_error(sync_error::config_invalid,
                        "http: max_connections_per_host must be at least 1");
    }
    return true;
  }

  // -- pool -----------------------------------------------------------------

  asio::awaitable<expected<connection_ptr>>
  acquire(std::string key, steady::time_point deadline) {
    for (;;) {
      if (stopping) {
        co_return make_error(sync_error::canceled, "client stopped");
      }
      auto& pool = pools[key];
      while (!pool.idle.empty()) {
        auto conn = std::move(pool.idle.back());
        pool.idle.pop_back();
        if (conn->lowest().socket().is_open()) {
          conn->reused = true;
          co_return conn;
        }
        --pool.open;
      }
      if (pool.open < config.max_connections_per_host) {
        ++pool.open;
        co_return std::make_shared<connection>();
      }
      auto w = std::make_shared<waiter>(strand);
      w->timer.expires_at(deadline);
      pool.waiters.push_back(w);
      error_code ec;
      co_await w->timer.async_wait(
        asio::redirect_error(asio::use_awaitable, ec));
      std::erase(pools[key].waiters, w);
      if (!w->woken && !stopping && steady::now() >= deadline) {
        co_return make_error(sync_error::timeout,
                             "waiting for a pooled connection: timed out");
      }
    }
  }

  void release(const std::string& key, connection_ptr conn, bool keep) {
    auto& pool = pools[key];
    busy.erase(conn.get());
    if (keep && !stopping) {
      pool.idle.push_back(std::move(conn));
    } else {
      conn->close();
      --pool.open;
    }
    if (!pool.waiters.empty()) {
      auto w = pool.waiters.front();
      pool.waiters.pop_front();
      w->woken = true;
      w->timer.cancel();
    }
  }

  // -- connecting -----------------------------------------------------------

  asio::awaitable<std::optional<error>>
  open(connection& conn, const url_parts& target,
       const std::optional<proxy_choice>& proxy, const request_options& opts,
       steady::time_point deadline) {
    conn.plain.emplace(strand);
    auto& stream = *conn.plain;
    stream.expires_after(step_budget(opts.connect_timeout, deadline));

    // Resolve and connect to the proxy or the target.
    const std::string& host = proxy ? proxy->host : target.host;
    uint16_t port = proxy ? proxy->port : target.port;
    tcp::resolver resolver{strand};
    error_code ec;
    auto endpoints = co_await resolver.async_resolve(
      host, std::to_string(port),
      asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      auto e = io_error(ec, proxy ? "resolve proxy" : "resolve", false);
      e.code = sync_error::connection_failed;
      co_return e;
    }
    co_await stream.async_connect(
      endpoints, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      co_return io_error(ec, proxy ? "connect to proxy" : "connect",
                         steady::now() >= deadline);
    }
    ++connections_opened;

    // A TLS target behind a proxy needs a CONNECT tunnel first.
    if (proxy && target.tls) {
      auto authority =
        (target.host.find(':') != std::string::npos ? "[" + target.host + "]"
                                                    : target.host) +
        ":" + std::to_string(target.port);
      bhttp::request<bhttp::empty_body> req{bhttp::verb::connect, authority,
                                            11};
      req.set(bhttp::field::host, authority);
      co_await bhttp::async_write(
        stream, req, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        co_return io_error(ec, "proxy CONNECT", steady::now() >= deadline);
      }
      bhttp::response_parser<bhttp::empty_body> parser;
      parser.skip(true);
      co_await bhttp::async_read_header(
        stream, conn.buffer, parser,
        asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        co_return io_error(ec, "proxy CONNECT", steady::now() >= deadline);
      }
      auto status = parser.get().result_int();
      if (status != 200) {
        auto e = make_error(sync_error::connection_failed,
                            "proxy CONNECT refused with HTTP " +
                              std::to_string(status));
        co_return e;
      }
    }

    if (!target.tls) {
      co_return std::nullopt;
    }

    // Move the connected socket under a TLS layer and shake hands.
    conn.tls.emplace(std::move(*conn.plain), tls_context);
    conn.plain.reset();
    auto* native = conn.tls->native_handle();
    if (!is_ip_literal(target.host)) {
      SSL_set_tlsext_host_name(native, target.host.c_str());
    }
    if (config.verify_tls) {
      conn.tls->set_verify_callback(ssl::host_name_verification(target.host));
    }
    beast::get_lowest_layer(*conn.tls).expires_after(
      step_budget(opts.connect_timeout, deadline));
    co_await conn.tls->async_handshake(
      ssl::stream_base::client, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (ec == beast::error::timeout) {
        co_return io_error(ec, "tls handshake", true);
      }
      auto verify = SSL_get_verify_result(native);
      std::string why = verify != X509_V_OK
                          ? std::string{"certificate verify failed: "} +
                              X509_verify_cert_error_string(verify)
                          : ec.message();
      co_return make_error(sync_error::tls_failed, "tls handshake: " + why);
    }
    co_return std::nullopt;
  }

  // -- one exchange ---------------------------------------------------------

  struct exchange_result {
    error_code ec;
    std::string_view step;
    bool got_bytes = false;
    bool keep_alive = false;
    http_response response;
  };

  template <class Stream>
  asio::awaitable<exchange_result>
  exchange(Stream& stream, connection& conn,
           bhttp::request<bhttp::string_body>& req, const request_options& opts,
           steady::time_point deadline) {
    exchange_result out;
    conn.lowest().expires_after(step_budget(opts.read_timeout, deadline));
    co_await bhttp::async_write(
      stream, req, asio::redirect_error(asio::use_awaitable, out.ec));
    if (out.ec) {
      out.step = "write request";
      co_return out;
    }
    ++requests_sent;

    auto parser = make_parser(opts, req.method() == bhttp::verb::head);
    auto before = conn.buffer.size();
    co_await bhttp::async_read_header(
      stream, conn.buffer, *parser,
      asio::redirect_error(asio::use_awaitable, out.ec));
    out.got_bytes = parser->got_some() || conn.buffer.size() != before;
    if (!out.ec && parser->content_length() &&
        *parser->content_length() > opts.max_response_bytes) {
      // Beast 1.74 does not apply body_limit to a Content-Length body.
      out.ec = bhttp::error::body_limit;
    }
    if (!out.ec) {
      co_await bhttp::async_read(
        stream, conn.buffer, *parser,
        asio::redirect_error(asio::use_awaitable, out.ec));
    }
    if (out.ec) {
      out.step = "read response";
      co_return out;
    }

    auto& msg = parser->get();
    out.keep_alive = msg.keep_alive();
    out.response.status = static_cast<int>(msg.result_int());
    for (const auto& field : msg) {
      out.response.headers.add(std::string{field.name_string()},
                               std::string{field.value()});
    }
    out.response.body = std::move(msg.body());
    co_return out;
  }

  bhttp::request<bhttp::string_body>
  build(const http_request& in, const url_parts& target, bool via_proxy) {
    bhttp::request<bhttp::string_body> req;
    req.method_string(in.method);
    req.version(11);
    // A plain request through a proxy names the absolute URL.
    req.target(via_proxy && !target.tls ? in.url : target.target);
    bool default_port = target.port == (target.tls ? 443 : 80);
    auto host = target.host.find(':') != std::string::npos
                  ? "[" + target.host + "]"
                  : target.host;
    req.set(bhttp::field::host,
            default_port ? host : host + ":" + std::to_string(target.port));
    req.set(bhttp::field::user_agent, config.user_agent);
    for (const auto& [name, value] : in.headers.fields()) {
      req.set(name, value);
    }
    req.body() = in.body;
    if (!in.body.empty() || in.method == "POST" || in.method == "PUT" ||
        in.method == "PATCH") {
      req.prepare_payload();
    }
    req.keep_alive(true);
    return req;
  }

  // -- the request coroutine ------------------------------------------------

  asio::awaitable<void> run(http_request request, request_options opts,
                            callback done) {
    auto self = shared_from_this();
    auto started = steady::now();
    auto deadline = started + opts.total_timeout;
    expected<http_response> result = co_await perform(request, opts, deadline);
    if (config.observe) {
      config.observe(request, result, steady::now() - started);
    }
    done(std::move(result));
  }

  asio::awaitable<expected<http_response>>
  perform(const http_request& request, const request_options& opts,
          steady::time_point deadline) {
    auto target = parse_url(request.url);
    if (!target) {
      co_return target.err();
    }
    auto proxy = choose_proxy(*target, config.env);
    if (!proxy) {
      co_return proxy.err();
    }
    auto key = std::string{target->tls ? "https://" : "http://"} +
               target->host + ":" + std::to_string(target->port);
    auto req = build(request, *target, proxy->has_value());

    for (int attempt = 0;; ++attempt) {
      auto conn = co_await acquire(key, deadline);
      if (!conn) {
        co_return conn.err();
      }
      auto c = *conn;
      busy.insert(c.get());
      bool fresh = !c->reused;
      if (fresh) {
        std::optional<error> failed =
          co_await open(*c, *target, *proxy, opts, deadline);
        if (failed) {
          release(key, c, false);
          if (stopping) {
            co_return make_error(sync_error::canceled, "client stopped");
          }
          co_return *failed;
        }
      }

      // GCC 12 miscompiles co_await inside ?: and conditions; keep each
      // co_await a statement of its own.
      exchange_result result;
      if (c->tls) {
        result = co_await exchange(*c->tls, *c, req, opts, deadline);
      } else {
        result = co_await exchange(*c->plain, *c, req, opts, deadline);
      }
      if (!result.ec) {
        release(key, c, result.keep_alive);
        expected<http_response> out{std::move(result.response)};
        co_return out;
      }
      release(key, c, false);
      if (stopping) {
        co_return make_error(sync_error::canceled, "client stopped");
      }

      // A pooled connection the peer closed meanwhile: try once afresh.
      if (!fresh && attempt == 0 && !result.got_bytes &&
          is_stale_error(result.ec) && is_idempotent(request.method)) {
        ++stale_retries;
        log(log_level::debug, "stale_connection_retried", key);
        continue;
      }
      co_return io_error(result.ec, result.step, steady::now() >= deadline);
    }
  }

  void shutdown() {
    stopping = true;
    for (auto& [key, pool] : pools) {
      for (auto& conn : pool.idle) {
        conn->close();
      }
      pool.idle.clear();
      for (auto& w : pool.waiters) {
        w->timer.cancel();
      }
    }
    for (auto* conn : busy) {
      conn->close();
    }
  }
};

// -- client -------------------------------------------------------------------

client::client(std::shared_ptr<impl> state) : impl_(std::move(state)) {}

expected<std::unique_ptr<client>> client::make(client_config config) {
  auto io = std::make_unique<asio::io_context>(1);
  auto& io_ref = *io;
  auto state = std::make_shared<impl>(std::move(config), io_ref, std::move(io));
  if (auto ok = state->setup_tls(); !ok) {
    return ok.err();
  }
  state->work.emplace(state->own_io->get_executor());
  auto* raw = state->own_io.get();
  state->thread = std::thread{[raw] {
    raw->run();
  }};
  return std::unique_ptr<client>{new client{std::move(state)}};
}

expected<std::unique_ptr<client>> client::make(client_config config,
                                               asio::io_context& io) {
  auto state = std::make_shared<impl>(std::move(config), io);
  if (auto ok = state->setup_tls(); !ok) {
    return ok.err();
  }
  return std::unique_ptr<client>{new client{std::move(state)}};
}

client::~client() {
  // Close everything on the strand; the coroutines then finish with
  // `canceled`, and an own thread ends once no work is left.
  auto state = impl_;
  asio::dispatch(state->strand, [state] {
    state->shutdown();
    state->work.reset();
  });
  if (state->own_io) {
    state->thread.join();
  }
}

void client::async_send(http_request request, request_options options,
                        callback done) {
  auto state = impl_;
  asio::co_spawn(
    state->strand,
    [state, request = std::move(request), options,
     done = std::move(done)]() mutable -> asio::awaitable<void> {
      co_await state->run(std::move(request), options, std::move(done));
    },
    asio::detached);
}

expected<http_response> client::send(http_request request,
                                     request_options options) {
  std::promise<expected<http_response>> result;
  auto future = result.get_future();
  async_send(std::move(request), options, [&result](expected<http_response> r) {
    result.set_value(std::move(r));
  });
  return future.get();
}

client_stats client::stats() const {
  client_stats out;
  out.connections_opened = impl_->connections_opened.load();
  out.requests_sent = impl_->requests_sent.load();
  out.stale_retries = impl_->stale_retries.load();
  return out;
}

} // namespace presync::http
