// The API server over real loopback sockets: answers given later from
// another thread, streams of chunks, and the limits.
#include "adapters/http/server.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <mutex>
#include <thread>

namespace presync::http {
namespace {

/// A blocking client socket with a receive timeout, so that a missing
/// answer fails the test instead of hanging it.
class raw_client {
 public:
  explicit raw_client(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ =
      ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }

  ~raw_client() { close(); }

  void close() {
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }

  bool connected() const { return connected_; }

  void send(const std::string& text) {
    ::send(fd_, text.data(), text.size(), MSG_NOSIGNAL);
  }

  /// Reads until `until` appears in what was read, or the timeout.
  std::string read_until(std::string_view until) {
    while (buf_.find(until) == std::string::npos) {
      char chunk[4096];
      auto n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n <= 0) {
        break;
      }
      buf_.append(chunk, static_cast<size_t>(n));
    }
    auto at = buf_.find(until);
    if (at == std::string::npos) {
      return std::exchange(buf_, {});
    }
    auto out = buf_.substr(0, at + until.size());
    buf_.erase(0, at + until.size());
    return out;
  }

  /// Returns true once the server closed the connection.
  bool closed_by_peer() {
    char c;
    return ::recv(fd_, &c, 1, 0) == 0;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
  std::string buf_;
};

std::string get(std::string_view target) {
  return "GET " + std::string{target} + " HTTP/1.1\r\nHost: x\r\n\r\n";
}

TEST(Server, AnAnswerGivenLaterFromAnotherThreadIsSent) {
  std::promise<responder> held;
  auto future = held.get_future();
  auto srv = server::start(
    "127.0.0.1:0", async_request_handler{[&](server_request, responder out) {
      held.set_value(out);
    }});
  ASSERT_TRUE(srv);
  raw_client c{(*srv)->port()};

  c.send(get("/later"));
  auto out = future.get();
  std::thread other{[out] {
    out.reply(server_response::json(202, R"({"later":true})"));
  }};
  other.join();
  auto answer = c.read_until(R"({"later":true})");

  EXPECT_TRUE(answer.starts_with("HTTP/1.1 202 Accepted\r\n")) << answer;
  EXPECT_TRUE(out.answered());
}

TEST(Server, TheConnectionIsKeptForTheNextRequestAfterALateAnswer) {
  int n = 0;
  auto srv = server::start(
    "127.0.0.1:0", async_request_handler{[&](server_request, responder out) {
      auto body = "{\"n\":" + std::to_string(++n) + "}";
      std::thread{[out, body] {
        out.reply(server_response::json(200, body));
      }}.detach();
    }});
  ASSERT_TRUE(srv);
  raw_client c{(*srv)->port()};

  c.send(get("/a"));
  auto first = c.read_until(R"({"n":1})");
  c.send(get("/b"));
  auto second = c.read_until(R"({"n":2})");

  EXPECT_TRUE(first.ends_with(R"({"n":1})")) << first;
  EXPECT_TRUE(second.ends_with(R"({"n":2})")) << second;
}

TEST(Server, AResponderDroppedUnansweredGives500) {
  auto srv = server::start("127.0.0.1:0",
                           async_request_handler{[](server_request, responder) {
                           }});
  ASSERT_TRUE(srv);
  raw_client c{(*srv)->port()};

  c.send(get("/lost"));
  auto answer = c.read_until("}");

  EXPECT_TRUE(answer.starts_with("HTTP/1.1 500 ")) << answer;
  EXPECT_NE(answer.find("no answer"), std::string::npos);
}

TEST(Server, AStreamSendsChunksUntilItIsClosed) {
  std::promise<std::shared_ptr<event_stream>> opened;
  auto srv = server::start(
    "127.0.0.1:0", async_request_handler{[&](server_request, responder out) {
      server_response head;
      head.headers.set("Cache-Control", "no-cache");
      opened.set_value(out.open_stream(head));
    }});
  ASSERT_TRUE(srv);
  raw_client c{(*srv)->port()};

  c.send(get("/events"));
  auto stream = opened.get_future().get();
  ASSERT_TRUE(stream);
  auto head = c.read_until("\r\n\r\n");
  stream->send("data: one\n\n");
  auto one = c.read_until("one\n\n\r\n");
  std::thread{[stream] {
    stream->send("data: two\n\n");
  }}.join();
  auto two = c.read_until("two\n\n\r\n");
  stream->close();
  auto end = c.read_until("0\r\n\r\n");

  EXPECT_TRUE(head.starts_with("HTTP/1.1 200 OK\r\n")) << head;
  EXPECT_NE(head.find("Content-Type: text/event-stream\r\n"),
            std::string::npos);
  EXPECT_NE(head.find("Transfer-Encoding: chunked\r\n"), std::string::npos);
  EXPECT_EQ(one, "b\r\ndata: one\n\n\r\n");
  EXPECT_EQ(two, "b\r\ndata: two\n\n\r\n");
  EXPECT_EQ(end, "0\r\n\r\n");
  EXPECT_TRUE(c.closed_by_peer());
  EXPECT_FALSE(stream->is_open());
  EXPECT_FALSE(stream->send("late"));
}

TEST(Server, AStreamClosesWhenThePeerGoesAway) {
  std::promise<std::shared_ptr<event_stream>> opened;
  auto srv = server::start(
    "127.0.0.1:0", async_request_handler{[&](server_request, responder out) {
      opened.set_value(out.open_stream({}));
    }});
  ASSERT_TRUE(srv);
  raw_client c{(*srv)->port()};
  c.send(get("/events"));
  auto stream = opened.get_future().get();
  c.read_until("\r\n\r\n");

  c.close();

  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{5};
  while (stream->is_open() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  EXPECT_FALSE(stream->is_open());
}

TEST(Server, AStreamThatOutlivesTheServerIsClosed) {
  std::promise<std::shared_ptr<event_stream>> opened;
  auto srv = server::start(
    "127.0.0.1:0", async_request_handler{[&](server_request, responder out) {
      opened.set_value(out.open_stream({}));
    }});
  ASSERT_TRUE(srv);
  raw_client c{(*srv)->port()};
  c.send(get("/events"));
  auto stream = opened.get_future().get();
  c.read_until("\r\n\r\n");

  srv->reset();

  EXPECT_FALSE(stream->is_open());
  EXPECT_FALSE(stream->send("after"));
}

TEST(Server, TooMuchBacklogForASlowPeerClosesTheStream) {
  server_limits limits;
  limits.max_stream_backlog = 1000;
  std::promise<std::shared_ptr<event_stream>> opened;
  auto srv = server::start(
    "127.0.0.1:0", async_request_handler{[&](server_request, responder out) {
      opened.set_value(out.open_stream({}));
    }},
    limits);
  ASSERT_TRUE(srv);
  raw_client c{(*srv)->port()};
  c.send(get("/events"));
  auto stream = opened.get_future().get();

  // One send larger than the backlog is refused at once.
  EXPECT_FALSE(stream->send(std::string(2000, 'x')));
  EXPECT_FALSE(stream->is_open());
}

TEST(Server, HeaderAndBodyLimitsAnswerBeforeTheHandler) {
  server_limits limits;
  limits.max_header_bytes = 512;
  limits.max_body_bytes = 16;
  int handled = 0;
  auto srv =
    server::start("127.0.0.1:0", request_handler{[&](const server_request&) {
                    ++handled;
                    return server_response::json(200, "{}");
                  }},
                  limits);
  ASSERT_TRUE(srv);

  raw_client big_header{(*srv)->port()};
  big_header.send("GET / HTTP/1.1\r\nHost: x\r\nX-Pad: " +
                  std::string(1000, 'a') + "\r\n\r\n");
  auto a = big_header.read_until("}");
  raw_client big_body{(*srv)->port()};
  big_body.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 64\r\n\r\n" +
                std::string(64, 'b'));
  auto b = big_body.read_until("}");

  EXPECT_TRUE(a.starts_with("HTTP/1.1 431 ")) << a;
  EXPECT_TRUE(b.starts_with("HTTP/1.1 413 ")) << b;
  EXPECT_EQ(handled, 0);
}

TEST(Server, ASlowClientIsDisconnected) {
  server_limits limits;
  limits.read_timeout = std::chrono::milliseconds{200};
  auto srv =
    server::start("127.0.0.1:0", request_handler{[](const server_request&) {
                    return server_response::json(200, "{}");
                  }},
                  limits);
  ASSERT_TRUE(srv);
  raw_client c{(*srv)->port()};

  c.send("GET / HTTP/1.1\r\nHo");

  EXPECT_TRUE(c.closed_by_peer());
}

} // namespace
} // namespace presync::http
