#include "support.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstring>
#include <thread>

extern char** environ;

namespace presync::connect_emulator::testing {

child_process::child_process(std::vector<std::string> argv, int timeout_ms) {
  int fds[2];
  if (pipe(fds) != 0) {
    return;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  std::vector<char*> args;
  for (auto& a : argv) {
    args.push_back(a.data());
  }
  args.push_back(nullptr);
  const int rc =
    posix_spawnp(&pid_, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  out_fd_ = fds[0];
  if (rc != 0) {
    pid_ = -1;
    return;
  }

  // Read up to the first newline; the timeout is an upper bound only.
  const auto deadline =
    std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  std::string line;
  while (line.find('\n') == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      break;
    }
    pollfd p{out_fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) {
      break;
    }
    char c = 0;
    if (read(out_fd_, &c, 1) != 1) {
      break;
    }
    line += c;
  }
  if (const auto nl = line.find('\n'); nl != std::string::npos) {
    first_line_ = line.substr(0, nl);
    const auto colon = first_line_.rfind(':');
    if (first_line_.starts_with("listening ") && colon != std::string::npos) {
      port_ = std::atoi(first_line_.c_str() + colon + 1);
    }
  }
}

int child_process::stop() {
  if (pid_ <= 0) {
    return -1;
  }
  kill(pid_, SIGTERM);
  int status = 0;
  for (int i = 0; i < 1000; ++i) {
    const pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      return status;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return -1;
}

child_process::~child_process() {
  stop();
  if (out_fd_ >= 0) {
    close(out_fd_);
  }
}

std::string response::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k.size() == name.size() &&
        std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) ==
                 std::tolower(static_cast<unsigned char>(b));
        })) {
      return v;
    }
  }
  return {};
}

response send(int port, const sigv4::request& req) {
  response out;
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    out.error = "socket failed";
    return out;
  }
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    out.error = "connect failed";
    return out;
  }

  std::string wire = req.method + " " + req.target + " HTTP/1.1\r\n";
  for (const auto& [k, v] : req.headers) {
    wire += k + ": " + v + "\r\n";
  }
  wire += "Content-Length: " + std::to_string(req.body.size()) + "\r\n";
  wire += "Connection: close\r\n\r\n" + req.body;
  std::size_t sent = 0;
  while (sent < wire.size()) {
    const ssize_t n = ::send(fd, wire.data() + sent, wire.size() - sent, 0);
    if (n <= 0) {
      close(fd);
      out.error = "send failed";
      return out;
    }
    sent += static_cast<std::size_t>(n);
  }

  std::string raw;
  char buf[4096];
  for (;;) {
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      break;
    }
    raw.append(buf, static_cast<std::size_t>(n));
  }
  close(fd);

  const auto head_end = raw.find("\r\n\r\n");
  if (head_end == std::string::npos || raw.size() < 12) {
    out.error = "incomplete response";
    return out;
  }
  out.status = std::atoi(raw.c_str() + 9);
  std::size_t pos = raw.find("\r\n") + 2;
  while (pos < head_end) {
    const auto eol = raw.find("\r\n", pos);
    const std::string line = raw.substr(pos, eol - pos);
    const auto colon = line.find(':');
    if (colon != std::string::npos) {
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') {
        value.erase(0, 1);
      }
      out.headers.emplace_back(line.substr(0, colon), value);
    }
    pos = eol + 2;
  }
  out.body = raw.substr(head_end + 4);
  return out;
}

sigv4::request make_request(int port, std::string method, std::string target,
                            std::string body, std::string content_type) {
  sigv4::request req;
  req.method = std::move(method);
  req.target = std::move(target);
  req.headers.emplace_back("Host", "127.0.0.1:" + std::to_string(port));
  if (!content_type.empty()) {
    req.headers.emplace_back("Content-Type", std::move(content_type));
  }
  req.body = std::move(body);
  return req;
}

response send_signed(int port, sigv4::request req,
                     const sigv4::credentials& creds,
                     const std::string& service, std::int64_t now_ms) {
  sigv4::sign(req, creds, "us-east-1", service, now_ms);
  return send(port, req);
}

response control(int port, const std::string& method, const std::string& target,
                 const std::string& body) {
  return send(port, make_request(port, method, target, body,
                                 body.empty() ? "" : "application/json"));
}

std::string bin_path(const std::string& name) {
  return std::string(PRESYNC_BIN_DIR) + "/" + name;
}

} // namespace presync::connect_emulator::testing
