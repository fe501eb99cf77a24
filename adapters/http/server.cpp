// The only translation unit of the HTTP server that includes Beast.
#include <utility> // before Asio: Boost 1.74 under C++20 (toolchain.md §5)

#include "adapters/http/server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <future>
#include <optional>
#include <thread>
#include <vector>

namespace presync::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using boost::system::error_code;
using tcp = asio::ip::tcp;

server_response server_response::json(int status, std::string body) {
  server_response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

namespace {
class session;
} // namespace

// Everything runs on the one I/O thread, so the members need no lock
// except `open`, which port() and the destructor never touch anyway.
struct server::impl : std::enable_shared_from_this<server::impl> {
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  request_handler handler;
  server_limits limits;
  std::atomic<size_t> open{0};
  std::vector<std::weak_ptr<session>> sessions;
  std::thread thread;

  void accept();
  void shut_down();
};

namespace {

server_response error_answer(int status, std::string_view reason) {
  return server_response::json(status,
                               "{\"error\":\"" + std::string{reason} + "\"}");
}

/// One connection: read a request, answer it, repeat while keep-alive.
class session : public std::enable_shared_from_this<session> {
 public:
  session(tcp::socket socket, std::shared_ptr<server::impl> owner)
    : stream_(std::move(socket)), owner_(std::move(owner)) {
    error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec) {
      peer_ = ep.address().to_string() + ":" + std::to_string(ep.port());
    }
  }

  ~session() { --owner_->open; }

  void run() { read(); }

  /// Ends the connection; pending operations complete as aborted.
  void close() {
    error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.close();
  }

 private:
  void read() {
    parser_.emplace();
    parser_->header_limit(
      static_cast<std::uint32_t>(owner_->limits.max_header_bytes));
    parser_->body_limit(owner_->limits.max_body_bytes);
    stream_.expires_after(owner_->limits.read_timeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = shared_from_this()](error_code ec, size_t) {
                        self->on_read(ec);
                      });
  }

  void on_read(error_code ec) {
    if (ec == bhttp::error::end_of_stream) {
      close();
      return;
    }

    // Limits get their own answer; anything else ends the connection.
    if (ec == bhttp::error::header_limit) {
      reply(error_answer(431, "request header too large"), false);
      return;
    }
    if (ec == bhttp::error::body_limit) {
      reply(error_answer(413, "request body too large"), false);
      return;
    }
    if (ec) {
      close();
      return;
    }

    auto& req = parser_->get();
    server_request in;
    in.method = std::string{req.method_string()};
    in.target = std::string{req.target()};
    for (const auto& f : req) {
      in.headers.add(std::string{f.name_string()}, std::string{f.value()});
    }
    in.body = std::move(req.body());
    in.peer = peer_;

    server_response out;
    try {
      out = owner_->handler(in);
    } catch (const std::exception&) {
      // A handler bug must not take the server down; say so generically.
      out = error_answer(500, "internal error");
    }
    reply(std::move(out), req.keep_alive());
  }

  void reply(server_response r, bool keep_alive) {
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>();
    res->version(11);
    res->result(static_cast<unsigned>(r.status));
    res->set(bhttp::field::server, "presync");
    if (!r.headers.contains("Content-Type")) {
      res->set(bhttp::field::content_type, "application/json");
    }
    for (const auto& [name, value] : r.headers.fields()) {
      res->insert(name, value);
    }
    res->body() = std::move(r.body);
    res->keep_alive(keep_alive);
    res->prepare_payload();

    stream_.expires_after(owner_->limits.read_timeout);
    bhttp::async_write(
      stream_, *res,
      [self = shared_from_this(), res, keep_alive](error_code ec, size_t) {
        if (ec || !keep_alive) {
          self->close();
          return;
        }
        self->read();
      });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::shared_ptr<server::impl> owner_;
  std::string peer_;
};

/// Splits "host:port" or "[v6]:port".
std::optional<std::pair<std::string, uint16_t>>
split_listen(const std::string& listen) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos || colon + 1 == listen.size()) {
    return std::nullopt;
  }
  auto host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  unsigned long port = 0;
  try {
    size_t used = 0;
    port = std::stoul(listen.substr(colon + 1), &used);
    if (used != listen.size() - colon - 1 || port > 65535) {
      return std::nullopt;
    }
  } catch (const std::exception&) {
    return std::nullopt;
  }
  return std::make_pair(host, static_cast<uint16_t>(port));
}

} // namespace

void server::impl::accept() {
  acceptor.async_accept(
    io, [self = shared_from_this()](error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted) {
        return;
      }
      if (!ec) {
        if (self->open.load() >= self->limits.max_connections) {
          error_code ignored;
          socket.close(ignored);
        } else {
          ++self->open;
          auto s = std::make_shared<session>(std::move(socket), self);
          std::erase_if(self->sessions,
                        [](const auto& w) { return w.expired(); });
          self->sessions.push_back(s);
          s->run();
        }
      }
      self->accept();
    });
}

expected<std::unique_ptr<server>> server::start(const std::string& listen,
                                                request_handler handler,
                                                server_limits limits) {
  auto where = split_listen(listen);
  if (!where) {
    return make_error(sync_error::config_invalid,
                      "server: expected host:port, got '" + listen + "'");
  }
  error_code ec;
  auto address = asio::ip::make_address(where->first, ec);
  if (ec) {
    return make_error(sync_error::config_invalid,
                      "server: '" + where->first + "' is not an IP address");
  }

  auto st = std::make_shared<impl>();
  st->handler = std::move(handler);
  st->limits = limits;
  tcp::endpoint ep{address, where->second};
  st->acceptor.open(ep.protocol(), ec);
  if (!ec) {
    st->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  }
  if (!ec) {
    st->acceptor.bind(ep, ec);
  }
  if (!ec) {
    st->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    return make_error(sync_error::unavailable, "server: cannot listen on " +
                                                 listen + ": " + ec.message());
  }

  st->accept();
  st->thread = std::thread{[st] {
    st->io.run();
  }};
  return std::unique_ptr<server>{new server{st}};
}

server::server(std::shared_ptr<impl> state) : impl_(std::move(state)) {
  // nop
}

void server::impl::shut_down() {
  error_code ignored;
  acceptor.close(ignored);
  for (auto& w : sessions) {
    if (auto s = w.lock()) {
      s->close();
    }
  }
  sessions.clear();
}

server::~server() {
  // Closing the acceptor and every connection leaves the I/O thread with
  // no work, so run() returns and every session is released.
  auto st = impl_;
  asio::post(st->io, [st] { st->shut_down(); });
  if (st->thread.joinable()) {
    st->thread.join();
  }
}

uint16_t server::port() const {
  error_code ec;
  return impl_->acceptor.local_endpoint(ec).port();
}

} // namespace presync::http
