// The directory API at scale (issue 7): 20,000 people, pages of 1,000 read
// through the handler and over a loopback socket, and one presence change
// fanned out to 200 connected event streams. Prints figures; asserts
// nothing (the run_e2e and unit tests do that).
//
// Usage: presync_api_bench [PEOPLE] [CLIENTS]
#include "adapters/http/server.hpp"
#include "app/api.hpp"
#include "app/directory_snapshot.hpp"
#include "app/event_hub.hpp"

#include <caf/all.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace presync;
using namespace presync::app;
using clock_type = std::chrono::steady_clock;

double ms_since(clock_type::time_point t) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t)
    .count();
}

struct figures {
  std::vector<double> ms;

  void print(const char* what) {
    std::sort(ms.begin(), ms.end());
    auto at = [&](double q) {
      return ms[std::min(ms.size() - 1, static_cast<size_t>(
                                          q * static_cast<double>(ms.size())))];
    };
    std::printf("%-46s n=%-4zu p50 %7.2f ms  p95 %7.2f ms  max %7.2f ms\n",
                what, ms.size(), at(0.5), at(0.95), ms.back());
  }
};

/// `n` people: a third Teams-only, a third Connect-only, a third both, with
/// numbers and names spread over the alphabet.
directory_inputs people(size_t n) {
  directory_inputs in;
  const char* first[] = {"Ada", "Bo", "Cy",  "Dee", "Eli", "Fay", "Gus", "Hal",
                         "Ivy", "Jo", "Kim", "Lou", "Max", "Ned", "Ola", "Pia"};
  for (size_t i = 0; i < n; ++i) {
    char id[64];
    std::snprintf(id, sizeof id, "%08zx-0000-4000-8000-000000000000", i);
    auto name = std::string{first[i % 16]} + " Person" + std::to_string(i);
    auto mail = "person" + std::to_string(i) + "@example.com";
    char phone[20];
    std::snprintf(phone, sizeof phone, "+1425%07zu", 5550000 + i % 9999);
    matched_person m;
    m.id = id;
    if (i % 3 != 1) {
      graph::directory_entry e;
      e.id = id;
      e.phone_e164 = std::string{phone};
      e.phone_from = graph::phone_source::business;
      in.teams_entries[id] = e;
      m.teams = in.teams.size();
      in.teams.push_back(teams_account{id, mail, mail, name});
    }
    if (i % 3 != 0) {
      auto uid = "c-" + std::string{id};
      connect_user_info u;
      u.summary = {uid, "arn:aws:connect:::agent/" + uid, mail, 0, ""};
      in.connect_users[uid] = u;
      m.connect = in.agents.size();
      in.agents.push_back(connect_account{uid, mail, mail, mail});
      if (!m.teams) {
        m.id = uid;
      }
    }
    in.people.people.push_back(m);
  }
  return in;
}

int connect_to(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

/// One GET over a fresh connection; returns the bytes of the answer.
size_t fetch(uint16_t port, const std::string& target) {
  int fd = connect_to(port);
  std::string req = "GET " + target +
                    " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer bench\r\n"
                    "Connection: close\r\n\r\n";
  ::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  size_t total = 0;
  char buf[65536];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) {
    total += static_cast<size_t>(n);
  }
  ::close(fd);
  return total;
}

} // namespace

int main(int argc, char** argv) {
  size_t n = argc > 1 ? std::stoul(argv[1]) : 20'000;
  size_t clients = argc > 2 ? std::stoul(argv[2]) : 200;

  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  config::tenant_config tc;
  tc.id = "bench";
  std::vector<std::unique_ptr<tenant_runtime>> tenants;
  tenants.push_back(std::make_unique<tenant_runtime>(
    sys, tc, nullptr, [](std::string_view) { return std::nullopt; }));
  tenant_directory dir{"bench", tc.connect};

  auto t = clock_type::now();
  auto snap = build_directory_snapshot(people(n), 1);
  auto build_ms = ms_since(t);
  dir.publish(snap);
  const char* availability[] = {"Available", "Busy", "Away", "Offline",
                                "DoNotDisturb"};
  for (size_t i = 0; i < snap->people().size(); ++i) {
    const auto& p = snap->people()[i];
    dir.board().seed(
      p.id, live_state{presence{availability[i % 5], availability[i % 5]},
                       i % 2 ? "Available" : "OnContact", 1});
  }
  std::printf("people %zu (snapshot built in %.1f ms), pages of 1000\n",
              snap->people().size(), build_ms);

  auto events = std::make_unique<event_hub>();
  api_context ctx;
  ctx.tenants = &tenants;
  ctx.directory_of = [&dir](const tenant_runtime&) {
    return &dir;
  };
  ctx.tokens = parse_api_tokens("bench");
  ctx.events = events.get();

  // The handler alone: the first page, a page deep in the list, a search
  // and a presence filter.
  auto request = [](std::string target) {
    http::server_request r;
    r.method = "GET";
    r.target = std::move(target);
    r.headers.add("Authorization", "Bearer bench");
    return r;
  };
  auto first =
    handle_api(ctx, request("/v1/tenants/bench/directory?limit=1000"));
  auto at = first.body.find("\"next_cursor\":\"") + 15;
  auto cursor = first.body.substr(at, first.body.find('"', at) - at);
  std::printf("one page: %zu bytes\n", first.body.size());
  struct bench_case {
    const char* what;
    std::string target;
  };
  std::vector<bench_case> cases = {
    {"handler: first page", "/v1/tenants/bench/directory?limit=1000"},
    {"handler: next page by cursor",
     "/v1/tenants/bench/directory?limit=1000&cursor=" + cursor},
    {"handler: search q=person1",
     "/v1/tenants/bench/directory?limit=1000&q=person1"},
    {"handler: presence=busy,dnd",
     "/v1/tenants/bench/directory?limit=1000&presence=busy,dnd"},
  };
  for (auto& c : cases) {
    figures f;
    for (int i = 0; i < 60; ++i) {
      auto s = clock_type::now();
      auto r = handle_api(ctx, request(c.target));
      f.ms.push_back(ms_since(s));
      if (r.status != 200) {
        std::printf("unexpected status %d\n", r.status);
        return 1;
      }
    }
    f.print(c.what);
  }

  // The same over a loopback socket, through the server.
  auto srv = http::server::start(
    "127.0.0.1:0", http::async_request_handler{
                     [&ctx](http::server_request req, http::responder out) {
                       serve_api(ctx, std::move(req), std::move(out));
                     }});
  if (!srv) {
    std::printf("cannot listen: %s\n", srv.err().describe().c_str());
    return 1;
  }
  auto port = (*srv)->port();
  {
    figures f;
    for (int i = 0; i < 60; ++i) {
      auto s = clock_type::now();
      fetch(port, "/v1/tenants/bench/directory?limit=1000");
      f.ms.push_back(ms_since(s));
    }
    f.print("socket: first page (connect, request, answer)");
  }

  // Event streams: `clients` connections, one change, time until the last
  // of them has read it.
  std::vector<int> fds;
  for (size_t i = 0; i < clients; ++i) {
    int fd = connect_to(port);
    std::string req = "GET /v1/tenants/bench/directory/events HTTP/1.1\r\n"
                      "Host: x\r\nAuthorization: Bearer bench\r\n\r\n";
    ::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
    fds.push_back(fd);
  }
  auto deadline = clock_type::now() + std::chrono::seconds{10};
  while (events->subscribers() < clients && clock_type::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  }
  std::printf("event streams open: %zu of %zu\n", events->subscribers(),
              clients);

  // Drain what the streams said on connecting.
  auto drain = [&](const std::string& marker, int timeout_ms) {
    std::vector<std::string> seen(fds.size());
    std::vector<bool> done(fds.size(), marker.empty());
    size_t left = marker.empty() ? 0 : fds.size();
    auto until = clock_type::now() + std::chrono::milliseconds{timeout_ms};
    std::vector<pollfd> pfds(fds.size());
    while (clock_type::now() < until) {
      for (size_t i = 0; i < fds.size(); ++i) {
        pfds[i] = {fds[i], POLLIN, 0};
      }
      if (::poll(pfds.data(), pfds.size(), 20) <= 0) {
        if (left == 0) {
          break;
        }
        continue;
      }
      for (size_t i = 0; i < fds.size(); ++i) {
        if ((pfds[i].revents & POLLIN) == 0) {
          continue;
        }
        char buf[8192];
        auto got = ::recv(fds[i], buf, sizeof buf, 0);
        if (got > 0) {
          seen[i].append(buf, static_cast<size_t>(got));
        }
        if (!done[i] && seen[i].find(marker) != std::string::npos) {
          done[i] = true;
          --left;
        }
      }
      if (!marker.empty() && left == 0) {
        break;
      }
    }
    return left;
  };
  drain("", 300);

  figures fan;
  size_t missed = 0;
  for (int round = 0; round < 20; ++round) {
    const auto& person = snap->people()[static_cast<size_t>(round)].id;
    auto value =
      presence{round % 2 ? "Busy" : "Away", "Bench" + std::to_string(round)};
    auto s = clock_type::now();
    dir.board().on_teams(person, value);
    auto left = drain("Bench" + std::to_string(round) + "\"", 5000);
    fan.ms.push_back(ms_since(s));
    missed += left;
  }
  fan.print("events: one change to every stream");
  std::printf("events: %zu clients, %zu deliveries missed\n", fds.size(),
              missed);

  for (int fd : fds) {
    ::close(fd);
  }
  srv->reset();
  events.reset();
  return missed == 0 ? 0 : 1;
}
