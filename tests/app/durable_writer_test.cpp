#include "app/durable_writer.hpp"

#include "adapters/store/sqlite_store.hpp"
#include "tests/actors/actor_fixture.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <unistd.h>
#include <utility>
#include <vector>

namespace presync::app {
namespace {

namespace fs = std::filesystem;
using actors::testing::actor_fixture;

/// A durable writer in front of a memory writer, on a store in a
/// temporary file; the test stands for the write queue.
class DurableWriter : public actor_fixture {
 protected:
  DurableWriter() {
    path_ = fs::temp_directory_path() /
            ("presync-durable-writer-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(path_);
    auto opened = store::sqlite_store::open({path_.string(), false});
    EXPECT_TRUE(opened);
    store_ = std::move(*opened);
    writer_ = spawn_writer();
    ledger_ = sys_.spawn(durable_writer,
                         durable_writer_args{"t1", store_.get(), writer_, [] {
                                               return int64_t{42};
                                             }});
  }

  ~DurableWriter() override {
    caf::anon_send_exit(ledger_, caf::exit_reason::user_shutdown);
    run();
    store_.reset();
    for (const char* suffix : {"", "-wal", "-shm"}) {
      fs::remove(path_.string() + suffix);
    }
  }

  /// Sends one dispatch as a queue would and returns the answer, once the
  /// store's commit has been waited for.
  std::optional<actors::write_attempted> dispatch(write_request req,
                                                  uint64_t ticket) {
    self_->send(ledger_, actors::write_dispatch{ticket, std::move(req)});
    run();                         // to the writer and back
    EXPECT_FALSE(store_->flush()); // the commit the answer waits for
    committed_at_answer_ = store_->stats().committed;
    run(); // the answer goes on
    std::optional<actors::write_attempted> got;
    while (!self_->mailbox().empty()) {
      self_->receive([&](actors::write_attempted& x) { got = x; });
    }
    return got;
  }

  static write_request teams(std::string person, presence p) {
    write_request r;
    r.person = std::move(person);
    r.to = side::teams;
    r.teams = teams_target::of(std::move(p));
    return r;
  }

  fs::path path_;
  std::unique_ptr<store::sqlite_store> store_;
  caf::actor writer_;
  caf::actor ledger_;
  uint64_t committed_at_answer_ = 0;
};

TEST_F(DurableWriter, AnswerReachesTheQueueAfterTheValueIsStored) {
  auto got = dispatch(teams("alice", {"Busy", "InACall"}), 7);

  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->ticket, 7u);
  EXPECT_EQ(got->outcome.result, write_outcome::kind::ok);
  EXPECT_EQ(committed_at_answer_, 1u);
  auto written = store_->written("t1");
  ASSERT_TRUE(written);
  EXPECT_EQ(written->at("alice").teams,
            (store::written_value{"Busy/InACall", 42}));
}

/// A store that commits only when the test says so.
class held_store final : public store::state_store {
 public:
  expected<std::optional<std::string>>
  checkpoint(const store::checkpoint_key&) override {
    return std::optional<std::string>{};
  }
  void put_checkpoint(const store::checkpoint_key&, std::string) override {}
  expected<std::map<std::string, std::string>>
  person_records(const std::string&) override {
    return std::map<std::string, std::string>{};
  }
  void put_person(const std::string&, const std::string&,
                  std::string) override {}
  void erase_person(const std::string&, const std::string&) override {}
  void put_written(const std::string&, const std::string& person, side,
                   store::written_value v) override {
    queued.emplace_back(person, v.value);
  }
  expected<std::map<std::string, store::written_sides>>
  written(const std::string&) override {
    return std::map<std::string, store::written_sides>{};
  }
  void when_durable(store::durable_fn done) override {
    waiting.push_back(std::move(done));
  }
  std::optional<error> flush() override { return std::nullopt; }
  store::store_stats stats() const override { return {}; }

  std::vector<std::pair<std::string, std::string>> queued;
  std::vector<store::durable_fn> waiting;
};

TEST_F(DurableWriter, NoAnswerBeforeTheStoreSaysTheValueIsOnDisk) {
  held_store held;
  auto ledger =
    sys_.spawn(durable_writer, durable_writer_args{"t1", &held, writer_, {}});
  self_->send(ledger,
              actors::write_dispatch{5, teams("alice", {"Busy", "InACall"})});
  run();
  auto before = self_->mailbox().empty();

  ASSERT_EQ(held.waiting.size(), 1u);
  held.waiting.front()(std::nullopt);
  run();

  EXPECT_TRUE(before);
  EXPECT_EQ(held.queued, (std::vector<std::pair<std::string, std::string>>{
                           {"alice", "Busy/InACall"}}));
  EXPECT_FALSE(self_->mailbox().empty());
  caf::anon_send_exit(ledger, caf::exit_reason::user_shutdown);
}

TEST_F(DurableWriter, ConnectStatusIsStoredByName) {
  write_request r;
  r.person = "bob";
  r.to = side::connect;
  r.status = "Meeting";

  auto got = dispatch(r, 1);

  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(store_->written("t1")->at("bob").connect->value, "Meeting");
}

TEST_F(DurableWriter, FailedWriteStoresNothingAndIsStillAnswered) {
  self_->send(writer_, actors::scripted_failure{"alice", side::teams, 400, {}});
  run();

  auto got = dispatch(teams("alice", {"Busy", "InACall"}), 3);

  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->outcome.result, write_outcome::kind::failed);
  EXPECT_TRUE(store_->written("t1")->empty());
}

} // namespace
} // namespace presync::app
