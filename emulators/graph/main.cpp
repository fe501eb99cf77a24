// presync-graph-emulator: a local Microsoft Graph and identity platform
// double for tests and demos (spec: ../shared/spec/graph.md).

#include "emulators/graph/server.hpp"
#include "emulators/graph/service.hpp"

#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>

namespace {

using presync::graph_emulator::server;
using presync::graph_emulator::server_options;
using presync::graph_emulator::service;
using presync::graph_emulator::service_options;

constexpr const char* secret_env = "PRESYNC_GRAPH_EMULATOR_CLIENT_SECRET";

void print_help() {
  std::cout
    << "usage: presync-graph-emulator [options]\n"
       "  --listen HOST:PORT      bind address (default 127.0.0.1:0; port 0 "
       "picks one)\n"
       "  --users N               generated licensed users (default 10), plus "
       "3 unlicensed\n"
       "  --tls-cert FILE         PEM certificate chain; enables HTTPS\n"
       "  --tls-key FILE          PEM private key\n"
       "  --tenant ID             tenant id (default "
       "00000000-0000-0000-0000-0000000000a1)\n"
       "  --client-id ID          accepted client id (default "
       "00000000-0000-0000-0000-0000000000b1)\n"
       "  --client-secret S       accepted secret (or env "
    << secret_env
    << ";\n"
       "                          default emulator-secret)\n"
       "  --manual-clock          time moves only via POST "
       "/_control/clock/advance\n"
       "  --throttle-limit N      presence calls per window per tenant "
       "(0 = off)\n"
       "  --throttle-window-ms N  throttle window (default 30000)\n"
       "  --error-rate F          fraction of Graph calls answered 5xx\n"
       "  --error-seed N          seed of the fault RNG (default 1)\n"
       "  --latency-ms N          delay added to every response\n"
       "  --reset-rate F          fraction of responses cut mid-way\n"
       "  --token-lifetime-s N    expires_in of issued tokens (default "
       "3599)\n"
       "  --token-endpoint-down   token endpoint answers 503\n"
       "  --secret-expired        token endpoint answers AADSTS7000222\n"
       "  --help                  this text\n"
       "The first stdout line is 'listening HOST:PORT'. Control API under "
       "/_control/.\n";
}

// Parses a number option, exiting with a message naming it when bad.
double number_arg(const std::string& name, const char* value) {
  char* end = nullptr;
  double v = std::strtod(value, &end);
  if (*value == '\0' || *end != '\0' || v < 0) {
    std::cerr << "presync-graph-emulator: " << name
              << " expects a non-negative number, got '" << value << "'\n";
    std::exit(2);
  }
  return v;
}

} // namespace

int main(int argc, char** argv) {
  service_options so;
  so.users = 10;
  server_options net;
  if (const char* env = std::getenv(secret_env)) {
    so.client_secret = env;
  }

  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::cerr << "presync-graph-emulator: " << a << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--help" || a == "-h") {
      print_help();
      return 0;
    } else if (a == "--listen") {
      std::string hp = value();
      auto colon = hp.rfind(':');
      if (colon == std::string::npos) {
        std::cerr << "presync-graph-emulator: --listen expects HOST:PORT, "
                     "got '"
                  << hp << "'\n";
        return 2;
      }
      std::string host = hp.substr(0, colon);
      if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
      }
      double port = number_arg("--listen port", hp.c_str() + colon + 1);
      if (port > 65535) {
        std::cerr << "presync-graph-emulator: --listen port out of range\n";
        return 2;
      }
      net.host = host;
      net.port = static_cast<unsigned short>(port);
    } else if (a == "--users") {
      so.users = static_cast<int>(number_arg(a, value()));
    } else if (a == "--tls-cert") {
      net.tls_cert = value();
    } else if (a == "--tls-key") {
      net.tls_key = value();
    } else if (a == "--tenant") {
      so.tenant = value();
    } else if (a == "--client-id") {
      so.client_id = value();
    } else if (a == "--client-secret") {
      so.client_secret = value();
    } else if (a == "--manual-clock") {
      so.real_time_clock = false;
    } else if (a == "--throttle-limit") {
      so.initial_knobs.throttle_limit =
        static_cast<std::int64_t>(number_arg(a, value()));
    } else if (a == "--throttle-window-ms") {
      so.initial_knobs.throttle_window_ms =
        static_cast<std::int64_t>(number_arg(a, value()));
    } else if (a == "--error-rate") {
      so.initial_knobs.error_rate = number_arg(a, value());
    } else if (a == "--error-seed") {
      so.initial_knobs.error_seed =
        static_cast<std::uint64_t>(number_arg(a, value()));
    } else if (a == "--latency-ms") {
      so.initial_knobs.latency_ms =
        static_cast<std::int64_t>(number_arg(a, value()));
    } else if (a == "--reset-rate") {
      so.initial_knobs.reset_rate = number_arg(a, value());
    } else if (a == "--token-lifetime-s") {
      so.initial_knobs.token_lifetime_s =
        static_cast<std::int64_t>(number_arg(a, value()));
    } else if (a == "--token-endpoint-down") {
      so.initial_knobs.token_endpoint_down = true;
    } else if (a == "--secret-expired") {
      so.initial_knobs.secret_expired = true;
    } else {
      std::cerr << "presync-graph-emulator: unknown option '" << a
                << "' (see --help)\n";
      return 2;
    }
  }

  try {
    service svc{so};
    server srv{svc, net};
    srv.handle_signals();
    std::cout << "listening " << srv.address() << std::endl;
    srv.run();
  } catch (const std::exception& e) {
    std::cerr << "presync-graph-emulator: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
