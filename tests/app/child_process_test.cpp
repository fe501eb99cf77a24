// Child processes of `presync demo`: started, read, stopped and reaped.
// These start real (tiny) processes; waits are bounded by the process
// exiting or printing, never by a fixed sleep.
#include "app/child_process.hpp"

#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>

namespace presync::app {
namespace {

using namespace std::chrono_literals;

class ChildProcess : public ::testing::Test {
 protected:
  ChildProcess() {
    std::string templ = ::testing::TempDir() + "child-XXXXXX";
    dir_ = ::mkdtemp(templ.data()) ? templ : ::testing::TempDir();
  }
  ~ChildProcess() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  child_spec shell(const std::string& name, const std::string& script) {
    child_spec s;
    s.name = name;
    s.argv = {"/bin/sh", "-c", script};
    s.stdout_file = dir_ + "/" + name + ".out";
    s.stderr_file = dir_ + "/" + name + ".err";
    return s;
  }

  static bool gone(pid_t pid) { return ::kill(pid, 0) != 0 && errno == ESRCH; }

  std::string dir_;
};

TEST_F(ChildProcess, ReadsTheFirstLineAndStopsWithSigterm) {
  auto c = child_process::start(
    shell("server", "echo 'listening 127.0.0.1:1234'; exec sleep 60"));
  ASSERT_TRUE(c) << c.err().describe();

  auto line = c->first_line(10s);
  ASSERT_TRUE(line) << line.err().describe();
  EXPECT_EQ(*line, "listening 127.0.0.1:1234");
  EXPECT_TRUE(c->running());

  c->stop(5s);
  EXPECT_FALSE(c->running());
  EXPECT_EQ(c->exit_description(), "killed by signal 15");
  EXPECT_TRUE(gone(c->pid()));
}

TEST_F(ChildProcess, FirstLineIgnoresAnEarlierRunsOutput) {
  auto spec = shell("rerun", "echo 'listening 127.0.0.1:2'; exec sleep 60");
  {
    std::FILE* f = std::fopen(spec.stdout_file.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs("listening 127.0.0.1:1\n", f);
    std::fclose(f);
  }

  auto c = child_process::start(std::move(spec));
  ASSERT_TRUE(c);
  auto line = c->first_line(10s);

  ASSERT_TRUE(line);
  EXPECT_EQ(*line, "listening 127.0.0.1:2");
}

TEST_F(ChildProcess, EarlyExitQuotesStderr) {
  auto c = child_process::start(
    shell("broken", "echo 'port already in use' >&2; exit 3"));
  ASSERT_TRUE(c);

  auto line = c->first_line(10s);

  ASSERT_FALSE(line);
  EXPECT_NE(line.err().context.find("broken did not start (exit status 3)"),
            std::string::npos)
    << line.err().context;
  EXPECT_NE(line.err().context.find("port already in use"), std::string::npos);
}

TEST_F(ChildProcess, SilentChildTimesOut) {
  auto c = child_process::start(shell("mute", "exec sleep 60"));
  ASSERT_TRUE(c);

  auto line = c->first_line(100ms);

  ASSERT_FALSE(line);
  EXPECT_EQ(line.err().code, sync_error::timeout);
  EXPECT_NE(line.err().context.find("mute printed no first line"),
            std::string::npos);
}

TEST_F(ChildProcess, MissingProgramIsAnError) {
  auto spec = shell("ghost", "");
  spec.argv = {"/nonexistent/presync-ghost"};

  auto c = child_process::start(std::move(spec));

  ASSERT_FALSE(c);
  EXPECT_NE(
    c.err().context.find("ghost: cannot run /nonexistent/presync-ghost"),
    std::string::npos)
    << c.err().context;
}

TEST_F(ChildProcess, SigtermIgnoredMeansSigkillAfterGrace) {
  auto c = child_process::start(
    shell("stubborn", "trap '' TERM; echo up; while :; do sleep 1; done"));
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->first_line(10s));

  c->stop(200ms);

  EXPECT_EQ(c->exit_description(), "killed by signal 9");
  EXPECT_TRUE(gone(c->pid()));
}

TEST_F(ChildProcess, EnvironmentIsAddedAndReplaced) {
  ::setenv("PRESYNC_DEMO_TEST_X", "old", 1);
  auto spec =
    shell("env", "echo \"$PRESYNC_DEMO_TEST_X-$PRESYNC_DEMO_TEST_Y\"");
  spec.env = {"PRESYNC_DEMO_TEST_X=new", "PRESYNC_DEMO_TEST_Y=42"};

  auto c = child_process::start(std::move(spec));
  ASSERT_TRUE(c);
  auto line = c->first_line(10s);

  ASSERT_TRUE(line);
  EXPECT_EQ(*line, "new-42");
  ::unsetenv("PRESYNC_DEMO_TEST_X");
}

TEST_F(ChildProcess, DestructorStopsAndReaps) {
  pid_t pid = -1;
  {
    auto c = child_process::start(shell("scoped", "echo up; exec sleep 60"));
    ASSERT_TRUE(c);
    ASSERT_TRUE(c->first_line(10s));
    pid = c->pid();
  }

  EXPECT_TRUE(gone(pid));
}

TEST_F(ChildProcess, StopAllStopsEveryChild) {
  auto a = child_process::start(shell("a", "echo up; exec sleep 60"));
  auto b = child_process::start(
    shell("b", "trap '' TERM; echo up; while :; do sleep 1; done"));
  ASSERT_TRUE(a);
  ASSERT_TRUE(b);
  ASSERT_TRUE(a->first_line(10s));
  ASSERT_TRUE(b->first_line(10s));

  stop_all({&*a, &*b}, 200ms);

  EXPECT_EQ(a->exit_description(), "killed by signal 15");
  EXPECT_EQ(b->exit_description(), "killed by signal 9");
}

TEST(TailOfFile, KeepsTheLastLines) {
  const std::string file = ::testing::TempDir() + "tail-test.txt";
  {
    std::FILE* f = std::fopen(file.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs("one\ntwo\nthree\n", f);
    std::fclose(f);
  }

  EXPECT_EQ(tail_of_file(file, 2), "  | two\n  | three\n");
  EXPECT_EQ(tail_of_file(file + ".missing", 2), "");
  std::remove(file.c_str());
}

} // namespace
} // namespace presync::app
