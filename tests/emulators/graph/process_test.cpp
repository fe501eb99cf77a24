// Tests of the emulator binary itself: start-up line, HTTP/1.1 keep-alive
// over a real loopback socket, the connection-reset knob and a clean exit
// on SIGTERM.

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

extern char** environ;

namespace {

constexpr const char* emulator = PRESYNC_BIN_DIR "/presync-graph-emulator";

// Starts the emulator and reads its "listening HOST:PORT" line.
class EmulatorProcess : public ::testing::Test {
 protected:
  void SetUp() override {
    int out[2];
    ASSERT_EQ(pipe(out), 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_addclose(&fa, out[0]);
    std::vector<std::string> args{
      emulator,         "--users",         "3",
      "--manual-clock", "--client-secret", "process-test-secret"};
    std::vector<char*> argv;
    for (auto& a : args) {
      argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    ASSERT_EQ(posix_spawn(&pid_, emulator, &fa, nullptr, argv.data(), environ),
              0);
    posix_spawn_file_actions_destroy(&fa);
    close(out[1]);
    out_ = out[0];

    // Upper bound only: the line normally arrives within milliseconds.
    std::string line;
    char c = 0;
    pollfd p{out_, POLLIN, 0};
    while (line.size() < 200 && poll(&p, 1, 10000) == 1 &&
           read(out_, &c, 1) == 1 && c != '\n') {
      line += c;
    }
    first_line_ = line;
    auto colon = line.rfind(':');
    ASSERT_EQ(line.rfind("listening 127.0.0.1:", 0), 0u) << line;
    port_ = static_cast<unsigned short>(std::stoi(line.substr(colon + 1)));
  }

  void TearDown() override {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0) {
      close(out_);
    }
  }

  int connect_socket() {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port_);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    return fd;
  }

  // Sends one request and reads one response; "" when the peer hangs up
  // before a whole response arrived.
  static std::string exchange(int fd, const std::string& method,
                              const std::string& target,
                              const std::string& body = "",
                              const std::string& extra = "") {
    std::string req =
      method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra +
      "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    if (send(fd, req.data(), req.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(req.size())) {
      return "";
    }
    std::string in;
    char buf[4096];
    while (true) {
      auto end = in.find("\r\n\r\n");
      if (end != std::string::npos) {
        auto cl = in.find("Content-Length: ");
        std::size_t len = cl == std::string::npos || cl > end
                            ? 0
                            : std::stoul(in.substr(cl + 16));
        if (in.size() >= end + 4 + len) {
          return in.substr(0, end + 4 + len);
        }
      }
      ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n <= 0) {
        return "";
      }
      in.append(buf, static_cast<std::size_t>(n));
    }
  }

  pid_t pid_ = -1;
  int out_ = -1;
  unsigned short port_ = 0;
  std::string first_line_;
};

TEST_F(EmulatorProcess, KeepAliveConnectionServesTokenThenGraphCall) {
  int fd = connect_socket();

  std::string tok_resp = exchange(
    fd, "POST", "/00000000-0000-0000-0000-0000000000a1/oauth2/v2.0/token",
    "client_id=00000000-0000-0000-0000-0000000000b1"
    "&client_secret=process-test-secret&grant_type=client_credentials"
    "&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default",
    "Content-Type: application/x-www-form-urlencoded\r\n");
  auto at = tok_resp.find("\"access_token\":\"");
  ASSERT_NE(at, std::string::npos) << tok_resp;
  std::string tok = tok_resp.substr(at + 16);
  tok = tok.substr(0, tok.find('"'));
  std::string users = exchange(fd, "GET", "/v1.0/users?$top=2", "",
                               "Authorization: Bearer " + tok + "\r\n");
  close(fd);

  EXPECT_EQ(tok_resp.rfind("HTTP/1.1 200", 0), 0u);
  EXPECT_EQ(users.rfind("HTTP/1.1 200", 0), 0u) << users;
  EXPECT_NE(users.find("\"@odata.nextLink\":\"http://127.0.0.1:" +
                       std::to_string(port_) + "/v1.0/users?"),
            std::string::npos)
    << users;
}

TEST_F(EmulatorProcess, ResetKnobCutsTheResponseMidWay) {
  int control = connect_socket();
  std::string set =
    exchange(control, "POST", "/_control/knobs", "{\"resetNext\":1}");
  close(control);
  ASSERT_EQ(set.rfind("HTTP/1.1 200", 0), 0u) << set;

  int fd = connect_socket();
  std::string cut = exchange(fd, "GET", "/v1.0/users");
  close(fd);
  int fd2 = connect_socket();
  std::string whole = exchange(fd2, "GET", "/v1.0/users");
  close(fd2);

  EXPECT_EQ(cut, "");
  EXPECT_EQ(whole.rfind("HTTP/1.1 401", 0), 0u) << whole;
}

TEST_F(EmulatorProcess, SigtermEndsTheProcessCleanly) {
  ASSERT_EQ(kill(pid_, SIGTERM), 0);

  int status = 0;
  ASSERT_EQ(waitpid(pid_, &status, 0), pid_);
  pid_ = -1;

  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

} // namespace
