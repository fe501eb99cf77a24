#include "app/child_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <fstream>
#include <thread>

extern char** environ;

namespace presync::app {

namespace {

using clock = std::chrono::steady_clock;
constexpr auto poll_step = std::chrono::milliseconds{20};

std::string describe_status(int status) {
  if (WIFEXITED(status)) {
    return "exit status " + std::to_string(WEXITSTATUS(status));
  }
  if (WIFSIGNALED(status)) {
    return "killed by signal " + std::to_string(WTERMSIG(status));
  }
  return "ended (wait status " + std::to_string(status) + ")";
}

/// Opens an output file for the child, emptied first: first_line() must
/// not read what an earlier run left there. Close-on-exec in the parent
/// (dup2 clears the flag on the child's copy).
int open_output(const std::string& path) {
  return ::open(path.c_str(),
                O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
}

/// Runs in the child between fork and exec: only async-signal-safe calls.
[[noreturn]] void exec_child(char* const* argv, char* const* envp, int out_fd,
                             int err_fd, int null_fd, int report_fd,
                             pid_t parent) {
  ::setpgid(0, 0);
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (::getppid() != parent) {
    ::_exit(127); // the demo died before we got here
  }

  // Default signal handling and an empty mask, whatever the demo set.
  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGHUP}) {
    ::signal(sig, SIG_DFL);
  }

  ::dup2(null_fd, STDIN_FILENO);
  ::dup2(out_fd, STDOUT_FILENO);
  ::dup2(err_fd, STDERR_FILENO);
  ::execvpe(argv[0], argv, envp);

  // Tell the parent why exec failed through the close-on-exec pipe.
  const int err = errno;
  [[maybe_unused]] auto n = ::write(report_fd, &err, sizeof err);
  ::_exit(127);
}

} // namespace

expected<child_process> child_process::start(child_spec spec) {
  if (spec.argv.empty()) {
    return make_error(sync_error::config_invalid,
                      spec.name + ": nothing to start");
  }

  // Everything the child needs is prepared before fork: after it, only
  // async-signal-safe calls are allowed (the demo has other threads).
  std::vector<char*> argv;
  for (auto& a : spec.argv) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  std::vector<std::string> env_text;
  for (char** e = environ; *e; ++e) {
    env_text.emplace_back(*e);
  }
  for (const auto& extra : spec.env) {
    const auto name = extra.substr(0, extra.find('=') + 1);
    std::erase_if(env_text,
                  [&](const std::string& e) { return e.starts_with(name); });
    env_text.push_back(extra);
  }
  std::vector<char*> envp;
  for (auto& e : env_text) {
    envp.push_back(e.data());
  }
  envp.push_back(nullptr);

  const int out_fd = open_output(spec.stdout_file);
  const int err_fd = spec.stderr_file == spec.stdout_file
                       ? ::dup(out_fd)
                       : open_output(spec.stderr_file);
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  int report[2] = {-1, -1};
  auto close_all = [&] {
    for (int fd : {out_fd, err_fd, null_fd, report[0], report[1]}) {
      if (fd >= 0) {
        ::close(fd);
      }
    }
  };
  if (out_fd < 0 || err_fd < 0 || null_fd < 0 ||
      ::pipe2(report, O_CLOEXEC) != 0) {
    const std::string why = std::strerror(errno);
    close_all();
    return make_error(sync_error::config_invalid,
                      spec.name + ": cannot open its output files in " +
                        spec.stdout_file + " (" + why + ")");
  }

  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    const std::string why = std::strerror(errno);
    close_all();
    return make_error(sync_error::unavailable,
                      spec.name + ": fork failed (" + why + ")");
  }
  if (pid == 0) {
    exec_child(argv.data(), envp.data(), out_fd, err_fd, null_fd, report[1],
               parent);
  }

  // Also set the group from here, so that it holds before we signal it.
  ::setpgid(pid, pid);
  ::close(report[1]);
  report[1] = -1;
  int exec_errno = 0;
  ssize_t n = 0;
  do {
    n = ::read(report[0], &exec_errno, sizeof exec_errno);
  } while (n < 0 && errno == EINTR);
  close_all();
  child_process child(std::move(spec), pid);
  if (n == static_cast<ssize_t>(sizeof exec_errno)) {
    child.stop(std::chrono::milliseconds{0});
    return make_error(sync_error::config_invalid,
                      child.name() + ": cannot run " + child.spec().argv[0] +
                        " (" + std::strerror(exec_errno) + ")");
  }
  return child;
}

child_process::child_process(child_spec spec, pid_t pid)
  : spec_(std::move(spec)), pid_(pid) {}

child_process::child_process(child_process&& other) noexcept
  : spec_(std::move(other.spec_)), pid_(other.pid_),
    wait_status_(other.wait_status_) {
  other.pid_ = -1;
}

child_process& child_process::operator=(child_process&& other) noexcept {
  if (this != &other) {
    stop();
    spec_ = std::move(other.spec_);
    pid_ = other.pid_;
    wait_status_ = other.wait_status_;
    other.pid_ = -1;
  }
  return *this;
}

child_process::~child_process() {
  stop();
}

bool child_process::running() {
  if (pid_ < 0 || wait_status_) {
    return false;
  }
  int status = 0;
  pid_t r = 0;
  do {
    r = ::waitpid(pid_, &status, WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == pid_) {
    wait_status_ = status;
    return false;
  }
  return r == 0;
}

std::optional<std::string> child_process::exit_description() {
  if (running() || !wait_status_) {
    return std::nullopt;
  }
  return describe_status(*wait_status_);
}

void child_process::kill_group(int signal) {
  if (pid_ < 0 || wait_status_) {
    return;
  }
  // The group first (grandchildren too); the pid alone if the group is not
  // there yet.
  if (::kill(-pid_, signal) != 0) {
    ::kill(pid_, signal);
  }
}

void child_process::terminate() {
  kill_group(SIGTERM);
}

bool child_process::wait_until(clock::time_point deadline) {
  while (running()) {
    if (clock::now() >= deadline) {
      return false;
    }
    std::this_thread::sleep_for(poll_step);
  }
  return true;
}

void child_process::stop(duration grace) {
  if (pid_ < 0 || !running()) {
    return;
  }
  terminate();
  if (wait_until(clock::now() + grace)) {
    return;
  }
  kill_group(SIGKILL);
  int status = 0;
  pid_t r = 0;
  do {
    r = ::waitpid(pid_, &status, 0);
  } while (r < 0 && errno == EINTR);
  if (r == pid_) {
    wait_status_ = status;
  }
}

expected<std::string> child_process::first_line(duration timeout) {
  const auto deadline = clock::now() + timeout;
  while (true) {
    std::ifstream in(spec_.stdout_file, std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)),
                     std::istreambuf_iterator<char>());
    if (auto nl = text.find('\n'); nl != std::string::npos) {
      return text.substr(0, nl);
    }
    if (!running()) {
      auto how = exit_description().value_or("ended");
      return make_error(sync_error::unavailable, name() + " did not start (" +
                                                   how + "); stderr:\n" +
                                                   stderr_tail());
    }
    if (clock::now() >= deadline) {
      return make_error(sync_error::timeout, name() +
                                               " printed no first line in " +
                                               format_duration(timeout) +
                                               "; stderr:\n" + stderr_tail());
    }
    std::this_thread::sleep_for(poll_step);
  }
}

std::string child_process::stderr_tail(std::size_t lines) const {
  return tail_of_file(spec_.stderr_file, lines);
}

void stop_all(const std::vector<child_process*>& children, duration grace) {
  for (auto* c : children) {
    if (c->running()) {
      c->terminate();
    }
  }
  const auto deadline = clock::now() + grace;
  for (auto* c : children) {
    c->wait_until(deadline);
  }
  for (auto* c : children) {
    c->stop(std::chrono::milliseconds{0});
  }
}

std::string tail_of_file(const std::string& file, std::size_t lines) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return "";
  }
  std::deque<std::string> last;
  std::string line;
  while (std::getline(in, line)) {
    last.push_back(std::move(line));
    if (last.size() > lines) {
      last.pop_front();
    }
  }
  std::string out;
  for (const auto& l : last) {
    out += "  | " + l + "\n";
  }
  return out;
}

} // namespace presync::app
