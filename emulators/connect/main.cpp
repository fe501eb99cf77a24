// presync-connect-emulator: an Amazon Connect test double on loopback.
// The only translation unit with Beast/Asio: HTTP server, Kinesis client,
// command line. Request logic lives in service.cpp.
#include <utility>

#include "emulators/connect/model.hpp"
#include "emulators/connect/service.hpp"
#include "emulators/connect/sigv4.hpp"
#include "emulators/connect/util.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <simdjson.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace presync::connect_emulator {

namespace {

constexpr const char* usage = R"(usage: presync-connect-emulator [options]

An Amazon Connect emulator for tests (REST API with SigV4 checks, agent
model, agent events to a Kinesis stream). Binds to loopback by default.

  --listen HOST:PORT          address to serve (default 127.0.0.1:0; port 0
                              picks a free one; first stdout line is
                              "listening HOST:PORT")
  --agents N                  generated agents (default 10)
  --instance-id ID            Connect instance id
                              (default 00000000-0000-0000-0000-0000000000aa)
  --account-id ID             AWS account id (default 111122223333)
  --region REGION             region (default us-east-1)
  --access-key-id KEY         accepted access key id (default testing)
  --secret-access-key SECRET  its secret (default testing)
  --kinesis-endpoint URL      http://HOST:PORT of a Kinesis (e.g. kinesalite);
                              without it events stay in memory
  --stream NAME               agent event stream (default
                              connect-agent-events; created if missing)
  --shards N                  shards when creating the stream (default 1)
  --no-heartbeats             do not emit idle HEART_BEAT events
  --tls-cert FILE, --tls-key FILE
                              not supported yet (exit 2)
  --help                      this text
)";

struct options {
  std::string host = "127.0.0.1";
  unsigned short port = 0;
  instance_config instance;
  service_config creds;
  std::string kinesis_endpoint;
  std::string stream = "connect-agent-events";
  int shards = 1;
  bool heartbeats = true;
  bool help = false;
};

std::optional<unsigned long> parse_number(const std::string& text,
                                          unsigned long max) {
  if (text.empty() || text.size() > 9 ||
      text.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  const unsigned long v = std::stoul(text);
  return v <= max ? std::optional(v) : std::nullopt;
}

bool parse_host_port(const std::string& text, std::string& host,
                     unsigned short& port) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return false;
  }
  const auto p = parse_number(text.substr(colon + 1), 65535);
  if (!p) {
    return false;
  }
  host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  port = static_cast<unsigned short>(*p);
  return true;
}

// Returns an error text, or empty when the command line is fine.
std::string parse_args(int argc, char** argv, options& o) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&](std::string& out) -> bool {
      if (i + 1 >= argc) {
        return false;
      }
      out = argv[++i];
      return true;
    };
    std::string v;
    if (arg == "--help" || arg == "-h") {
      o.help = true;
    } else if (arg == "--no-heartbeats") {
      o.heartbeats = false;
    } else if (arg == "--listen") {
      if (!value(v) || !parse_host_port(v, o.host, o.port)) {
        return "--listen needs HOST:PORT, got '" + v + "'";
      }
    } else if (arg == "--agents") {
      const auto n = value(v) ? parse_number(v, 100000) : std::nullopt;
      if (!n) {
        return "--agents needs a number 0..100000, got '" + v + "'";
      }
      o.instance.agents = *n;
    } else if (arg == "--shards") {
      const auto n = value(v) ? parse_number(v, 100) : std::nullopt;
      if (!n || *n == 0) {
        return "--shards needs a number 1..100, got '" + v + "'";
      }
      o.shards = static_cast<int>(*n);
    } else if (arg == "--instance-id" || arg == "--account-id" ||
               arg == "--region" || arg == "--access-key-id" ||
               arg == "--secret-access-key" || arg == "--kinesis-endpoint" ||
               arg == "--stream" || arg == "--tls-cert" || arg == "--tls-key") {
      if (!value(v) || v.empty()) {
        return arg + " needs a value";
      }
      if (arg == "--instance-id") {
        o.instance.instance_id = v;
      } else if (arg == "--account-id") {
        o.instance.account_id = v;
      } else if (arg == "--region") {
        o.instance.region = v;
      } else if (arg == "--access-key-id") {
        o.creds.access_key_id = v;
      } else if (arg == "--secret-access-key") {
        o.creds.secret_access_key = v;
      } else if (arg == "--kinesis-endpoint") {
        o.kinesis_endpoint = v;
      } else if (arg == "--stream") {
        o.stream = v;
      } else {
        // TODO: TLS listener; wrap the session in beast::ssl_stream with a
        // context loaded from --tls-cert/--tls-key.
        return "TLS (--tls-cert/--tls-key) is not implemented; use plain "
               "HTTP on loopback";
      }
    } else {
      return "unknown option '" + arg + "' (see --help)";
    }
  }
  return {};
}

// -- Kinesis client
// --------------------------------------------------------------

struct kinesis_reply {
  int status = 0;
  std::string body;
  std::string error; ///< transport error
};

class kinesis_client {
 public:
  kinesis_client(std::string host, std::string port, sigv4::credentials creds,
                 std::string region)
    : host_(std::move(host)), port_(std::move(port)), creds_(std::move(creds)),
      region_(std::move(region)) {}

  kinesis_reply call(const std::string& operation, const std::string& body,
                     std::int64_t now_ms) {
    kinesis_reply reply;
    sigv4::request req;
    req.method = "POST";
    req.target = "/";
    req.headers = {{"Host", host_ + ":" + port_},
                   {"Content-Type", "application/x-amz-json-1.1"},
                   {"X-Amz-Target", "Kinesis_20131202." + operation}};
    req.body = body;
    sigv4::sign(req, creds_, region_, "kinesis", now_ms);

    try {
      net::io_context ioc;
      tcp::resolver resolver{ioc};
      beast::tcp_stream stream{ioc};
      stream.expires_after(std::chrono::seconds(5));
      stream.connect(resolver.resolve(host_, port_));
      http::request<http::string_body> out{http::verb::post, "/", 11};
      for (const auto& [name, value] : req.headers) {
        out.set(name, value);
      }
      out.body() = req.body;
      out.prepare_payload();
      http::write(stream, out);
      beast::flat_buffer buffer;
      http::response<http::string_body> in;
      http::read(stream, buffer, in);
      beast::error_code ec;
      stream.socket().shutdown(tcp::socket::shutdown_both, ec);
      reply.status = static_cast<int>(in.result_int());
      reply.body = std::move(in.body());
    } catch (const std::exception& e) {
      reply.error = e.what();
    }
    return reply;
  }

 private:
  std::string host_;
  std::string port_;
  sigv4::credentials creds_;
  std::string region_;
};

std::string stream_status(const std::string& body) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(body).get(doc)) {
    return {};
  }
  std::string_view status;
  if (doc["StreamDescriptionSummary"]["StreamStatus"].get_string().get(
        status)) {
    return {};
  }
  return std::string(status);
}

// Makes sure the stream exists and is ACTIVE; returns an error text.
std::string ensure_stream(kinesis_client& k, const options& o) {
  json_out name;
  name.begin_object().key("StreamName").string(o.stream).end_object();
  for (int attempt = 0; attempt < 100; ++attempt) {
    const kinesis_reply r =
      k.call("DescribeStreamSummary", name.str(), system_now_ms());
    if (!r.error.empty()) {
      return "Kinesis at " + o.kinesis_endpoint + " unreachable: " + r.error;
    }
    if (r.status == 200 && stream_status(r.body) == "ACTIVE") {
      return {};
    }
    if (r.status == 400 &&
        r.body.find("ResourceNotFoundException") != std::string::npos) {
      json_out create;
      create.begin_object().key("StreamName").string(o.stream);
      create.key("ShardCount").number(std::int64_t{o.shards}).end_object();
      const kinesis_reply c =
        k.call("CreateStream", create.str(), system_now_ms());
      if (c.status != 200 &&
          c.body.find("ResourceInUseException") == std::string::npos) {
        return "CreateStream failed with HTTP " + std::to_string(c.status) +
               ": " + c.body.substr(0, 200);
      }
    } else if (r.status != 200) {
      return "DescribeStreamSummary failed with HTTP " +
             std::to_string(r.status) + ": " + r.body.substr(0, 200);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return "stream " + o.stream + " did not become ACTIVE";
}

// -- HTTP server
// -------------------------------------------------------------------

class session : public std::enable_shared_from_this<session> {
 public:
  session(tcp::socket socket, service& svc)
    : stream_(std::move(socket)), timer_(stream_.get_executor()), svc_(svc) {}

  void run() { do_read(); }

 private:
  void do_read() {
    req_ = {};
    stream_.expires_after(std::chrono::seconds(60));
    http::async_read(
      stream_, buffer_, req_,
      [self = shared_from_this()](beast::error_code ec, std::size_t) {
        self->on_read(ec);
      });
  }

  void on_read(beast::error_code ec) {
    if (ec) {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
      return;
    }
    sigv4::request in;
    in.method = std::string(req_.method_string());
    in.target = std::string(req_.target());
    for (const auto& field : req_) {
      in.headers.emplace_back(std::string(field.name_string()),
                              std::string(field.value()));
    }
    in.body = req_.body();
    beast::error_code peer_ec;
    const auto peer = stream_.socket().remote_endpoint(peer_ec);
    const bool loopback = !peer_ec && peer.address().is_loopback();

    const http_response out = svc_.handle(in, loopback);
    res_ = {};
    res_.version(11);
    res_.result(static_cast<unsigned>(out.status));
    for (const auto& [name, value] : out.headers) {
      res_.set(name, value);
    }
    res_.set(http::field::server, "presync-connect-emulator");
    res_.body() = out.body;
    res_.keep_alive(req_.keep_alive());
    res_.prepare_payload();

    if (out.delay_ms > 0) {
      timer_.expires_after(std::chrono::milliseconds(out.delay_ms));
      timer_.async_wait(
        [self = shared_from_this()](beast::error_code) { self->do_write(); });
    } else {
      do_write();
    }
  }

  void do_write() {
    http::async_write(
      stream_, res_,
      [self = shared_from_this()](beast::error_code ec, std::size_t) {
        if (ec) {
          return;
        }
        if (!self->res_.keep_alive()) {
          beast::error_code ignored;
          self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
          return;
        }
        self->do_read();
      });
  }

  beast::tcp_stream stream_;
  net::steady_timer timer_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> req_;
  http::response<http::string_body> res_;
  service& svc_;
};

void do_accept(tcp::acceptor& acceptor, service& svc) {
  acceptor.async_accept(
    [&acceptor, &svc](beast::error_code ec, tcp::socket socket) {
      if (ec) {
        return; // acceptor closed at shutdown
      }
      std::make_shared<session>(std::move(socket), svc)->run();
      do_accept(acceptor, svc);
    });
}

void arm_tick(net::steady_timer& timer, service& svc) {
  timer.expires_after(std::chrono::seconds(1));
  timer.async_wait([&timer, &svc](beast::error_code ec) {
    if (ec) {
      return;
    }
    svc.tick();
    arm_tick(timer, svc);
  });
}

int run(int argc, char** argv) {
  options o;
  if (const std::string err = parse_args(argc, argv, o); !err.empty()) {
    std::cerr << "presync-connect-emulator: " << err << "\n";
    return 2;
  }
  if (o.help) {
    std::cout << usage;
    return 0;
  }

  model m{o.instance};
  m.set_heartbeats(o.heartbeats);
  service svc{m, o.creds};

  std::unique_ptr<kinesis_client> kinesis;
  if (!o.kinesis_endpoint.empty()) {
    std::string host;
    unsigned short port = 0;
    const std::string prefix = "http://";
    std::string rest = o.kinesis_endpoint;
    // TODO: https Kinesis endpoints; needs a beast::ssl_stream client with
    // a CA file flag. Local peers (kinesalite) speak plain HTTP.
    if (!rest.starts_with(prefix)) {
      std::cerr << "presync-connect-emulator: --kinesis-endpoint must be "
                   "http://HOST:PORT (https is not supported)\n";
      return 2;
    }
    rest = rest.substr(prefix.size());
    if (!rest.empty() && rest.back() == '/') {
      rest.pop_back();
    }
    if (!parse_host_port(rest, host, port)) {
      std::cerr << "presync-connect-emulator: --kinesis-endpoint needs a "
                   "port: http://HOST:PORT\n";
      return 2;
    }
    kinesis = std::make_unique<kinesis_client>(
      host, std::to_string(port),
      sigv4::credentials{o.creds.access_key_id, o.creds.secret_access_key, {}},
      o.instance.region);
    if (const std::string err = ensure_stream(*kinesis, o); !err.empty()) {
      std::cerr << "presync-connect-emulator: " << err << "\n";
      return 1;
    }
    const std::string stream_name = o.stream;
    kinesis_client* client = kinesis.get();
    svc.set_sink(
      [client, stream_name, &m](const std::vector<std::string>& records,
                                const std::vector<std::string>& keys,
                                std::string& why) {
        json_out j;
        j.begin_object().key("StreamName").string(stream_name);
        j.key("Records").begin_array();
        for (std::size_t i = 0; i < records.size(); ++i) {
          j.begin_object().key("Data").string(base64_encode(records[i]));
          j.key("PartitionKey").string(keys[i]).end_object();
        }
        j.end_array().end_object();
        const kinesis_reply r =
          client->call("PutRecords", j.str(), system_now_ms());
        (void)m;
        if (!r.error.empty()) {
          why = r.error;
          return false;
        }
        if (r.status != 200 ||
            r.body.find("\"FailedRecordCount\":0") == std::string::npos) {
          why = "PutRecords HTTP " + std::to_string(r.status) + ": " +
                r.body.substr(0, 200);
          return false;
        }
        return true;
      },
      "kinesis:" + o.stream);
  }

  net::io_context ioc{1};
  tcp::endpoint endpoint;
  try {
    endpoint = {net::ip::make_address(o.host), o.port};
  } catch (const std::exception&) {
    std::cerr << "presync-connect-emulator: --listen host '" << o.host
              << "' is not an IP address\n";
    return 2;
  }
  tcp::acceptor acceptor{ioc};
  beast::error_code ec;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) {
    acceptor.set_option(net::socket_base::reuse_address(true), ec);
    acceptor.bind(endpoint, ec);
  }
  if (!ec) {
    acceptor.listen(net::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    std::cerr << "presync-connect-emulator: cannot listen on " << o.host << ":"
              << o.port << ": " << ec.message() << "\n";
    return 1;
  }
  // Signals are caught before anyone learns the port.
  net::signal_set signals{ioc, SIGINT, SIGTERM};
  const auto bound = acceptor.local_endpoint();
  const std::string shown = bound.address().is_v6()
                              ? "[" + bound.address().to_string() + "]"
                              : bound.address().to_string();
  std::cout << "listening " << shown << ":" << bound.port() << std::endl;

  do_accept(acceptor, svc);
  net::steady_timer ticker{ioc};
  arm_tick(ticker, svc);
  signals.async_wait([&](beast::error_code, int) {
    beast::error_code ignored;
    acceptor.close(ignored);
    ticker.cancel();
    ioc.stop();
  });
  ioc.run();
  return 0;
}

} // namespace

} // namespace presync::connect_emulator

int main(int argc, char** argv) {
  return presync::connect_emulator::run(argc, argv);
}
