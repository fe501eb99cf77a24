// Child processes for `presync demo`: start a program with its output in
// files, wait for the first line it prints, and stop it again (SIGTERM,
// then SIGKILL after a grace period) so that no process outlives the demo.
//
// Each child runs in its own process group, so a Ctrl-C in the terminal
// reaches only the demo, which then stops its children in order; and each
// asks the kernel for SIGTERM when the demo itself dies (PR_SET_PDEATHSIG).
#pragma once

#include "protocol/error.hpp"
#include "protocol/time.hpp"

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace presync::app {

/// What to start and where its output goes.
struct child_spec {
  std::string name;              ///< for messages, e.g. "kinesalite"
  std::vector<std::string> argv; ///< argv[0]: a path, or a name in PATH
  std::string stdout_file;       ///< created, or emptied if it exists
  std::string stderr_file;       ///< may equal stdout_file
  std::vector<std::string> env;  ///< NAME=value added to the environment
};

/// One running child. Stops and reaps it when destroyed.
class child_process {
 public:
  /// Starts `spec`. Fails (naming the child) when an output file cannot be
  /// opened or the program cannot be executed.
  [[nodiscard]] static expected<child_process> start(child_spec spec);

  child_process(child_process&& other) noexcept;
  child_process& operator=(child_process&& other) noexcept;
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;
  ~child_process();

  /// Waits until the child's stdout holds a complete first line and
  /// returns it (without the newline). Fails when the child exits first or
  /// `timeout` passes; the error quotes the end of its stderr.
  [[nodiscard]] expected<std::string> first_line(duration timeout);

  /// Returns true while the child has not exited (reaps it if it has).
  bool running();

  /// Returns how the child ended ("exit status 1", "killed by signal 9"),
  /// or nullopt while it runs.
  std::optional<std::string> exit_description();

  /// Sends SIGTERM to the child's process group.
  void terminate();

  /// Waits until the child exits or `deadline` passes; true if it exited.
  bool wait_until(std::chrono::steady_clock::time_point deadline);

  /// SIGTERM, up to `grace` to exit, then SIGKILL; always reaps.
  void stop(duration grace = std::chrono::seconds{5});

  /// Returns the last `lines` lines of the child's stderr file.
  std::string stderr_tail(std::size_t lines = 10) const;

  const std::string& name() const { return spec_.name; }
  pid_t pid() const { return pid_; }
  const child_spec& spec() const { return spec_; }

 private:
  child_process(child_spec spec, pid_t pid);

  void kill_group(int signal);

  child_spec spec_;
  pid_t pid_ = -1;                 ///< -1 when there is no child (moved from)
  std::optional<int> wait_status_; ///< set once reaped
};

/// Stops several children together: SIGTERM to all, up to `grace` for all
/// of them, then SIGKILL to the rest; reaps every one.
void stop_all(const std::vector<child_process*>& children,
              duration grace = std::chrono::seconds{5});

/// Returns the last `lines` lines of `file` ("" when it cannot be read).
std::string tail_of_file(const std::string& file, std::size_t lines);

} // namespace presync::app
