// Boost 1.74 Asio under C++20 needs <utility> before its headers.
#include <utility>

// GCC 12 at -O2 reports -Wmismatched-new-delete on Asio's awaitable frames
// (its coroutine frame operator new/delete pair is matched; the warning is
// a false positive of GCC's coroutine lowering), so it is off here only.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include "emulators/graph/server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <chrono>
#include <optional>
#include <sstream>
#include <stdexcept>

namespace presync::graph_emulator {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

constexpr auto idle_timeout = std::chrono::seconds(60);

http_request to_request(const http::request<http::string_body>& in,
                        bool loopback) {
  http_request out;
  out.method = std::string{in.method_string()};
  out.target = std::string{in.target()};
  for (const auto& f : in) {
    std::string name{f.name_string()};
    for (auto& c : name) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    out.headers[name] = std::string{f.value()};
  }
  out.body = in.body();
  out.from_loopback = loopback;
  return out;
}

http::response<http::string_body>
to_response(const http_response& in, unsigned version, bool keep_alive) {
  http::response<http::string_body> out{static_cast<http::status>(in.status),
                                        version};
  out.set(http::field::server, "presync-graph-emulator");
  for (const auto& [k, v] : in.headers) {
    out.set(k, v);
  }
  out.body() = in.body;
  out.keep_alive(keep_alive);
  out.prepare_payload();
  return out;
}

} // namespace

struct server::impl {
  service& svc;
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  std::optional<ssl::context> tls;
  std::optional<asio::signal_set> signals;
  std::string host;
  unsigned short port = 0;

  impl(service& s, const server_options& o) : svc(s), host(o.host) {
    boost::system::error_code ec;
    auto address = asio::ip::make_address(o.host, ec);
    if (ec) {
      throw std::runtime_error("--listen: bad host '" + o.host +
                               "': " + ec.message());
    }
    tcp::endpoint ep{address, o.port};
    acceptor.open(ep.protocol(), ec);
    if (!ec) {
      acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    }
    if (!ec) {
      acceptor.bind(ep, ec);
    }
    if (!ec) {
      acceptor.listen(asio::socket_base::max_listen_connections, ec);
    }
    if (ec) {
      throw std::runtime_error("cannot listen on " + o.host + ":" +
                               std::to_string(o.port) + ": " + ec.message());
    }
    port = acceptor.local_endpoint().port();

    if (!o.tls_cert.empty() || !o.tls_key.empty()) {
      if (o.tls_cert.empty() || o.tls_key.empty()) {
        throw std::runtime_error("--tls-cert and --tls-key go together");
      }
      tls.emplace(ssl::context::tls_server);
      tls->set_options(ssl::context::default_workarounds |
                       ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                       ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
      tls->use_certificate_chain_file(o.tls_cert, ec);
      if (ec) {
        throw std::runtime_error("--tls-cert " + o.tls_cert + ": " +
                                 ec.message());
      }
      tls->use_private_key_file(o.tls_key, ssl::context::pem, ec);
      if (ec) {
        throw std::runtime_error("--tls-key " + o.tls_key + ": " +
                                 ec.message());
      }
    }
  }

  // Reads requests and answers them until the peer or a fault ends it.
  template <class Stream>
  asio::awaitable<void> serve(Stream& stream, tcp::socket& raw, bool loopback) {
    beast::flat_buffer buffer;
    boost::system::error_code ec;
    while (true) {
      beast::get_lowest_layer(stream).expires_after(idle_timeout);
      http::request_parser<http::string_body> parser;
      parser.body_limit(16 * 1024 * 1024);
      co_await http::async_read(stream, buffer, parser,
                                asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        co_return;
      }
      auto req = parser.release();
      http_response answer = svc.handle(to_request(req, loopback));

      if (answer.delay_ms > 0) {
        asio::steady_timer timer{io};
        timer.expires_after(std::chrono::milliseconds(answer.delay_ms));
        co_await timer.async_wait(
          asio::redirect_error(asio::use_awaitable, ec));
      }
      auto res = to_response(answer, req.version(), req.keep_alive());

      // A cut response: half of the bytes, then a TCP reset.
      if (answer.cut_connection) {
        std::ostringstream os;
        os << res;
        std::string bytes = os.str();
        co_await asio::async_write(
          stream, asio::buffer(bytes.data(), bytes.size() / 2),
          asio::redirect_error(asio::use_awaitable, ec));
        raw.set_option(asio::socket_base::linger(true, 0), ec);
        raw.close(ec);
        co_return;
      }
      co_await http::async_write(stream, res,
                                 asio::redirect_error(asio::use_awaitable, ec));
      if (ec || !res.keep_alive()) {
        beast::get_lowest_layer(stream).socket().shutdown(
          tcp::socket::shutdown_send, ec);
        co_return;
      }
    }
  }

  asio::awaitable<void> connection(tcp::socket socket) {
    boost::system::error_code ec;
    auto remote = socket.remote_endpoint(ec);
    bool loopback = !ec && remote.address().is_loopback();
    beast::tcp_stream plain{std::move(socket)};
    if (!tls) {
      co_await serve(plain, plain.socket(), loopback);
      co_return;
    }
    beast::ssl_stream<beast::tcp_stream> secure{std::move(plain), *tls};
    beast::get_lowest_layer(secure).expires_after(idle_timeout);
    co_await secure.async_handshake(
      ssl::stream_base::server, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      co_return;
    }
    co_await serve(secure, beast::get_lowest_layer(secure).socket(), loopback);
  }

  asio::awaitable<void> accept_loop() {
    boost::system::error_code ec;
    while (acceptor.is_open()) {
      tcp::socket socket{io};
      co_await acceptor.async_accept(
        socket, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        if (ec == asio::error::operation_aborted) {
          co_return;
        }
        continue;
      }
      asio::co_spawn(io, connection(std::move(socket)), asio::detached);
    }
  }
};

server::server(service& svc, const server_options& options)
  : impl_(std::make_unique<impl>(svc, options)) {
  svc.set_base_url(base_url());
}

server::~server() = default;

std::string server::address() const {
  bool v6 = impl_->host.find(':') != std::string::npos;
  return (v6 ? "[" + impl_->host + "]" : impl_->host) + ":" +
         std::to_string(impl_->port);
}

std::string server::base_url() const {
  return std::string{impl_->tls ? "https" : "http"} + "://" + address();
}

void server::handle_signals() {
  impl_->signals.emplace(impl_->io, SIGTERM, SIGINT);
  impl_->signals->async_wait([this](const boost::system::error_code& ec, int) {
    if (!ec) {
      stop();
    }
  });
}

void server::run() {
  asio::co_spawn(impl_->io, impl_->accept_loop(), asio::detached);
  impl_->io.run();
}

void server::stop() {
  asio::post(impl_->io, [this] {
    boost::system::error_code ec;
    impl_->acceptor.close(ec);
    impl_->io.stop();
  });
}

} // namespace presync::graph_emulator
