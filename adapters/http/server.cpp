// The only translation unit of the HTTP server that includes Beast.
#include <utility> // before Asio: Boost 1.74 under C++20 (toolchain.md §5)

#include "adapters/http/server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <array>
#include <atomic>
#include <cstdio>
#include <deque>
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

server_response error_answer(int status, std::string_view reason) {
  return server_response::json(status,
                               "{\"error\":\"" + std::string{reason} + "\"}");
}

} // namespace

// -- responder ----------------------------------------------------------------

struct responder::state {
  reply_fn reply;
  stream_fn stream;
  std::atomic<bool> done{false};

  ~state() {
    // The last copy went away unanswered: a handler bug, but the client
    // must not wait for ever.
    if (!done.exchange(true) && reply) {
      reply(error_answer(500, "internal error: no answer"));
    }
  }
};

responder::responder(reply_fn reply, stream_fn stream)
  : state_(std::make_shared<state>()) {
  state_->reply = std::move(reply);
  state_->stream = std::move(stream);
}

void responder::reply(server_response r) const {
  if (!state_->done.exchange(true)) {
    state_->reply(std::move(r));
  }
}

std::shared_ptr<event_stream>
responder::open_stream(server_response head) const {
  if (!state_->stream || state_->done.exchange(true)) {
    return nullptr;
  }
  return state_->stream(std::move(head));
}

bool responder::answered() const {
  return state_->done.load();
}

namespace {
class session;
} // namespace

// Everything runs on the one I/O thread, so the members need no lock
// except `open`, which port() and the destructor never touch anyway.
struct server::impl : std::enable_shared_from_this<server::impl> {
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  async_request_handler handler;
  server_limits limits;
  std::atomic<size_t> open{0};
  std::vector<std::weak_ptr<session>> sessions;
  std::thread thread;

  void accept();
  void shut_down();
};

namespace {

/// The handle a streaming handler keeps. It reaches its connection only by
/// posting to the I/O thread, and holds it weakly, so a stream that
/// outlives its connection or the server is just closed.
class stream_handle : public event_stream {
 public:
  stream_handle(std::weak_ptr<session> owner, std::weak_ptr<server::impl> where,
                size_t max_backlog)
    : owner_(std::move(owner)), where_(std::move(where)),
      max_backlog_(max_backlog) {
    // nop
  }

  bool send(std::string data) override;
  bool is_open() const override { return open_.load(); }
  void close() override;

  void mark_closed() { open_ = false; }
  void written(size_t n) { backlog_ -= n; }

 private:
  template <class F>
  void post(F f);

  std::weak_ptr<session> owner_;
  std::weak_ptr<server::impl> where_;
  size_t max_backlog_;
  std::atomic<bool> open_{true};
  std::atomic<size_t> backlog_{0};
};

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
    if (closed_) {
      return;
    }
    closed_ = true;

    // Released when this returns: the caller holds its own reference.
    auto keep = std::move(waiting_);
    if (stream_out_) {
      stream_out_->mark_closed();
    }
    error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.close();
  }

  /// Sends the answer a handler gave, maybe later than the request.
  void answer(server_response r) {
    if (closed_) {
      // Nothing will be written, so nothing else would let go of the
      // session (the caller holds its own reference).
      waiting_.reset();
      return;
    }
    if (stream_out_) {
      return;
    }
    reply(std::move(r), keep_alive_);
  }

  /// Sends the status line and headers of a stream, then watches the peer.
  void start_stream(std::shared_ptr<stream_handle> handle,
                    server_response head) {
    if (closed_ || stream_out_) {
      handle->mark_closed();
      if (closed_) {
        waiting_.reset();
      }
      return;
    }
    stream_out_ = std::move(handle);

    auto status = static_cast<unsigned>(head.status);
    std::string text =
      "HTTP/1.1 " + std::to_string(status) + " " +
      std::string{bhttp::obsolete_reason(static_cast<bhttp::status>(status))} +
      "\r\nServer: presync\r\n";
    if (!head.headers.contains("Content-Type")) {
      text += "Content-Type: text/event-stream\r\n";
    }
    for (const auto& [name, value] : head.headers.fields()) {
      text += name + ": " + value + "\r\n";
    }
    text += "Transfer-Encoding: chunked\r\n\r\n";
    chunks_.push_front({std::move(text), 0});
    write_next();

    // The peer sends nothing more; a read ends when it goes away.
    probe();
  }

  /// Queues one chunk of a stream. A chunk may come before the stream's
  /// start: a post from another thread can overtake the I/O thread's own
  /// posts, so it waits here until the headers are queued before it.
  void queue_chunk(std::string data) {
    if (closed_ || ending_) {
      return;
    }
    auto counted = data.size();
    char size[20];
    std::snprintf(size, sizeof size, "%zx\r\n", data.size());
    chunks_.push_back({size + std::move(data) + "\r\n", counted});
    write_next();
  }

  /// Ends a stream: the last chunk, then the connection.
  void end_stream() {
    if (closed_ || ending_) {
      return;
    }
    ending_ = true;
    chunks_.push_back({"0\r\n\r\n", 0});
    write_next();
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
    // A read can complete without error after close(): the parser found a
    // whole pipelined request already in buffer_. Serving it would set
    // waiting_ on a closed session, and no operation would be left to
    // release it (the leak LeakSanitizer saw at server teardown).
    if (closed_) {
      return;
    }
    if (ec == bhttp::error::end_of_stream) {
      close();
      return;
    }

    // Limits and malformed requests get their own answer, then the
    // connection ends; anything else (a timeout, the peer gone) just ends
    // it.
    if (ec == bhttp::error::header_limit) {
      if (request_line_unfinished()) {
        reply(error_answer(414, "request target too long"), false);
      } else {
        reply(error_answer(431, "request header too large"), false);
      }
      return;
    }
    if (ec == bhttp::error::body_limit) {
      reply(error_answer(413, "request body too large"), false);
      return;
    }
    if (malformed(ec)) {
      reply(error_answer(400, "malformed request"), false);
      return;
    }
    if (ec) {
      close();
      return;
    }

    auto& req = parser_->get();

    // A body framed two ways is read differently by different servers
    // (request smuggling, RFC 9112 §6.3): refuse it.
    if (req.count(bhttp::field::transfer_encoding) != 0 &&
        req.count(bhttp::field::content_length) != 0) {
      reply(error_answer(400, "malformed request"), false);
      return;
    }
    server_request in;
    in.method = std::string{req.method_string()};
    in.target = std::string{req.target()};
    for (const auto& f : req) {
      in.headers.add(std::string{f.name_string()}, std::string{f.value()});
    }
    in.body = std::move(req.body());
    in.peer = peer_;
    keep_alive_ = req.keep_alive();

    // No deadline while the handler works: it answers within its own.
    // The session keeps itself alive until the answer has gone out.
    stream_.expires_never();
    waiting_ = shared_from_this();
    auto out = make_responder();
    try {
      owner_->handler(std::move(in), out);
    } catch (const std::exception&) {
      // A handler bug must not take the server down; say so generically.
      out.reply(error_answer(500, "internal error"));
    }
  }

  /// Returns true if `ec` says the bytes were not HTTP/1.1 as it must be
  /// written: a bad request line, field, length or chunk.
  static bool malformed(error_code ec) {
    using e = bhttp::error;
    for (auto bad :
         {e::bad_line_ending, e::bad_method, e::bad_target, e::bad_version,
          e::bad_field, e::bad_value, e::bad_content_length,
          e::bad_transfer_encoding, e::bad_chunk, e::bad_chunk_extension,
          e::bad_obs_fold, e::unexpected_body}) {
      if (ec == bad) {
        return true;
      }
    }
    return false;
  }

  /// Returns true if the header limit was reached before the request line
  /// ended: the target itself is too long (414, not 431). The parser has
  /// the target once it has read the whole line.
  bool request_line_unfinished() const {
    return parser_->get().target().empty();
  }

  responder make_responder() {
    std::weak_ptr<session> weak = shared_from_this();
    std::weak_ptr<server::impl> where = owner_;
    auto backlog = owner_->limits.max_stream_backlog;
    auto on_reply = [weak, where](server_response r) {
      if (auto o = where.lock()) {
        asio::post(o->io, [weak, r = std::move(r)]() mutable {
          if (auto s = weak.lock()) {
            s->answer(std::move(r));
          }
        });
      }
    };
    auto on_stream = [weak, where, backlog](
                       server_response head) -> std::shared_ptr<event_stream> {
      auto handle = std::make_shared<stream_handle>(weak, where, backlog);
      auto o = where.lock();
      if (!o) {
        handle->mark_closed();
        return handle;
      }
      asio::post(o->io, [weak, handle, head = std::move(head)]() mutable {
        if (auto s = weak.lock()) {
          s->start_stream(handle, std::move(head));
        } else {
          handle->mark_closed();
        }
      });
      return handle;
    };
    return responder{std::move(on_reply), std::move(on_stream)};
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
        if (ec || !keep_alive || self->closed_) {
          self->close();
          return;
        }
        self->waiting_.reset();
        self->read();
      });
  }

  void write_next() {
    if (writing_ || chunks_.empty() || closed_ || !stream_out_) {
      return;
    }
    writing_ = true;

    // Each write has a deadline: a peer that stops reading is dropped.
    stream_.expires_after(owner_->limits.read_timeout);
    asio::async_write(stream_, asio::buffer(chunks_.front().text),
                      [self = shared_from_this()](error_code ec, size_t) {
                        self->on_chunk_written(ec);
                      });
  }

  void on_chunk_written(error_code ec) {
    writing_ = false;
    if (ec) {
      close();
      return;
    }
    stream_out_->written(chunks_.front().counted);
    chunks_.pop_front();
    if (chunks_.empty()) {
      stream_.expires_never();
      if (ending_) {
        close();
        return;
      }
    }
    write_next();
  }

  void probe() {
    stream_.socket().async_read_some(
      asio::buffer(probe_), [self = shared_from_this()](error_code ec, size_t) {
        if (ec) {
          self->close();
          return;
        }
        self->probe();
      });
  }

  struct chunk {
    std::string text;
    size_t counted = 0; ///< payload bytes, for the stream's backlog
  };

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::shared_ptr<server::impl> owner_;
  std::string peer_;
  bool keep_alive_ = false;
  bool closed_ = false;
  std::shared_ptr<session> waiting_; ///< self, while an answer is due

  // A stream's state: its handle, chunks waiting and the probe's buffer.
  std::shared_ptr<stream_handle> stream_out_;
  std::deque<chunk> chunks_;
  bool writing_ = false;
  bool ending_ = false;
  std::array<char, 64> probe_{};
};

template <class F>
void stream_handle::post(F f) {
  if (auto o = where_.lock()) {
    asio::post(o->io, [owner = owner_, f = std::move(f)]() mutable {
      if (auto s = owner.lock()) {
        f(*s);
      }
    });
  }
}

bool stream_handle::send(std::string data) {
  if (!open_) {
    return false;
  }
  auto size = data.size();
  if (backlog_.fetch_add(size) + size > max_backlog_) {
    close();
    return false;
  }
  post(
    [d = std::move(data)](session& s) mutable { s.queue_chunk(std::move(d)); });
  return true;
}

void stream_handle::close() {
  if (!open_.exchange(false)) {
    return;
  }
  post([](session& s) { s.end_stream(); });
}

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
  auto answer_now = [h = std::move(handler)](server_request req,
                                             responder out) {
    out.reply(h(req));
  };
  return start(listen, async_request_handler{std::move(answer_now)}, limits);
}

expected<std::unique_ptr<server>> server::start(const std::string& listen,
                                                async_request_handler handler,
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
