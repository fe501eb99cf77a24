#include "actors/memory_writer.hpp"

#include "actor_fixture.hpp"

#include <gtest/gtest.h>

#include <chrono>

namespace presync::actors::testing {
namespace {

using namespace std::chrono_literals;

class MemoryWriter : public actor_fixture {
 protected:
  MemoryWriter() : writer_(spawn_writer()) {}

  /// Sends one attempt and returns the writer's answer.
  std::optional<write_attempted> attempt(uint64_t ticket, write_request req) {
    self_->send(writer_, write_dispatch{ticket, std::move(req)});
    run();
    std::optional<write_attempted> out;
    self_->receive([&](write_attempted& a) { out = std::move(a); },
                   caf::after(std::chrono::seconds(0)) >> [] {});
    return out;
  }

  static write_request teams(std::string person, write_kind kind) {
    write_request r;
    r.person = std::move(person);
    r.to = side::teams;
    r.kind = kind;
    r.teams = teams_target::of({"Busy", "InACall"});
    return r;
  }

  caf::actor writer_;
};

TEST_F(MemoryWriter, ScriptedFailuresAnswerInOrderAndRefreshesNeverFail) {
  self_->send(writer_, scripted_failure{"gina", side::teams, 429, 30s});
  self_->send(writer_, scripted_failure{"gina", side::teams, 404, {}});
  advance_to(15s);

  auto refresh = attempt(1, teams("gina", write_kind::refresh));
  auto first = attempt(2, teams("gina", write_kind::write));
  auto second = attempt(3, teams("gina", write_kind::write));
  auto third = attempt(4, teams("gina", write_kind::write));

  ASSERT_TRUE(refresh && first && second && third);
  EXPECT_EQ(refresh->outcome.result, write_outcome::kind::ok);
  EXPECT_EQ(first->ticket, 2u);
  EXPECT_EQ(first->outcome.result, write_outcome::kind::throttled);
  EXPECT_EQ(first->outcome.retry_after, duration{30s});
  EXPECT_EQ(second->outcome.result, write_outcome::kind::failed);
  EXPECT_EQ(second->outcome.http_status, 404);
  EXPECT_EQ(third->outcome.result, write_outcome::kind::ok);
  auto rs = records(writer_);
  ASSERT_EQ(rs.size(), 4u);
  EXPECT_EQ(rs[0].kind, write_kind::refresh);
  EXPECT_EQ(rs[1].at, at(15s));
  EXPECT_EQ(rs[1].value, "Busy/InACall");
  EXPECT_EQ(rs[1].result, std::optional<int>{429});
  EXPECT_EQ(rs[2].result, std::optional<int>{404});
  EXPECT_EQ(rs[3].result, std::nullopt);
}

TEST_F(MemoryWriter, FailureForOnePersonLeavesOthersAlone) {
  self_->send(writer_, scripted_failure{"gina", side::teams, 503, {}});
  run();

  auto other = attempt(1, teams("hank", write_kind::write));

  ASSERT_TRUE(other.has_value());
  EXPECT_EQ(other->outcome.result, write_outcome::kind::ok);
}

} // namespace
} // namespace presync::actors::testing
