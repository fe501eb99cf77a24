#include "adapters/store/sqlite_store.hpp"

#include "adapters/metrics/metrics.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <unistd.h>
#include <vector>

namespace presync::store {
namespace {

namespace fs = std::filesystem;

class SqliteStore : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("presync-store-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = (dir_ / "state.db").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<sqlite_store> open(bool reset = false) {
    auto s = sqlite_store::open(open_options{path_, reset});
    EXPECT_TRUE(s) << (s ? "" : s.err().describe());
    return s ? std::move(*s) : nullptr;
  }

  /// Overwrites `n` bytes at `offset` of the file with garbage.
  void scribble(std::streamoff offset, size_t n) {
    std::fstream f{path_, std::ios::in | std::ios::out | std::ios::binary};
    f.seekp(offset);
    std::string junk(n, '\xA5');
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }

  fs::path dir_;
  std::string path_;
};

TEST_F(SqliteStore, EachCommittedBatchIsTimedInTheStoreWriteHistogram) {
  auto registry = std::make_shared<prometheus::Registry>();
  auto metrics = std::make_shared<metrics::sync_metrics>(registry);
  open_options opts{path_, false, [metrics](double seconds) {
                      metrics->observe_store_write("commit", seconds);
                    }};
  auto s = sqlite_store::open(opts);
  ASSERT_TRUE(s);
  const auto before = metrics::render(*registry);

  (*s)->put_checkpoint({"t1", "stream", "shard-1"}, "42");
  auto failure = (*s)->flush();

  ASSERT_FALSE(failure) << failure->describe();
  ASSERT_EQ((*s)->stats().batches, 1u);
  auto after = metrics::render(*registry);
  EXPECT_EQ(before.find("presync_store_write_duration_seconds_count"),
            std::string::npos);
  EXPECT_NE(after.find("presync_store_write_duration_seconds_count{"
                       "operation=\"commit\"} 1"),
            std::string::npos)
    << after;
}

TEST_F(SqliteStore, FirstOpenCreatesTheFileAtTheCurrentSchema) {
  auto s = open();

  ASSERT_TRUE(s);
  EXPECT_EQ(s->outcome(), open_outcome::created);
  EXPECT_TRUE(fs::exists(path_));
  s.reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "PRAGMA user_version;", -1, &st, nullptr);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(st, 0), schema_version);
  sqlite3_finalize(st);
  sqlite3_prepare_v2(db, "PRAGMA journal_mode;", -1, &st, nullptr);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)),
               "wal");
  sqlite3_finalize(st);
  sqlite3_close(db);
}

TEST_F(SqliteStore, CheckpointsAndPersonsSurviveAReopen) {
  auto s = open();
  s->put_checkpoint({"t1", "stream", "shard-0"}, "100");
  s->put_checkpoint({"t1", "stream", "shard-0"}, "200");
  s->put_checkpoint({"t2", "stream", "shard-0"}, "7");
  s->put_person("t1", "alice", "{\"a\":1}");
  s->put_person("t1", "bob", "{\"b\":1}");
  s->erase_person("t1", "bob");
  ASSERT_FALSE(s->flush());
  s.reset();

  auto again = open();

  EXPECT_EQ(again->outcome(), open_outcome::opened);
  EXPECT_EQ(*again->checkpoint({"t1", "stream", "shard-0"}),
            std::optional<std::string>{"200"});
  EXPECT_EQ(*again->checkpoint({"t2", "stream", "shard-0"}),
            std::optional<std::string>{"7"});
  EXPECT_EQ(*again->checkpoint({"t1", "stream", "shard-9"}),
            std::optional<std::string>{});
  auto people = again->person_records("t1");
  ASSERT_TRUE(people);
  EXPECT_EQ(*people,
            (std::map<std::string, std::string>{{"alice", "{\"a\":1}"}}));
}

TEST_F(SqliteStore, ReadsSeeQueuedWritesBeforeTheyAreCommitted) {
  auto s = open();

  s->put_checkpoint({"t", "s", "0"}, "5");
  s->put_person("t", "p", "r1");

  EXPECT_EQ(*s->checkpoint({"t", "s", "0"}), std::optional<std::string>{"5"});
  EXPECT_EQ(s->person_records("t")->at("p"), "r1");
}

TEST_F(SqliteStore, WritesQueuedBeforeCloseAreOnDisk) {
  auto s = open();
  for (int i = 0; i < 1000; ++i) {
    s->put_person("t", "p" + std::to_string(i), std::to_string(i));
  }
  s.reset(); // no flush: the destructor drains the queue

  auto again = open();

  EXPECT_EQ(again->person_records("t")->size(), 1000u);
  EXPECT_EQ(again->person_records("t")->at("p999"), "999");
}

TEST_F(SqliteStore, NewerWritesForTheSameKeyCoalesce) {
  auto s = open();
  ASSERT_FALSE(s->flush());

  // The writer may take some puts in between; the last value always wins.
  for (int i = 0; i < 500; ++i) {
    s->put_checkpoint({"t", "s", "0"}, std::to_string(i));
  }
  ASSERT_FALSE(s->flush());

  auto st = s->stats();
  EXPECT_EQ(st.queued, 500u);
  EXPECT_EQ(st.committed + st.coalesced, 500u);
  EXPECT_EQ(*s->checkpoint({"t", "s", "0"}), std::optional<std::string>{"499"});
}

TEST_F(SqliteStore, AFileThatIsNotADatabaseIsAnErrorNamingThePath) {
  {
    std::ofstream f{path_};
    f << "this is no database, but it is long enough to look like a header "
         "of one to anyone who does not check the magic string";
  }

  auto s = sqlite_store::open(open_options{path_, false});

  ASSERT_FALSE(s);
  EXPECT_EQ(s.err().code, sync_error::config_invalid);
  EXPECT_NE(s.err().context.find(path_), std::string::npos) << s.err().context;
  EXPECT_NE(s.err().context.find("corrupt"), std::string::npos)
    << s.err().context;
}

TEST_F(SqliteStore, ADamagedPageIsAnErrorNamingThePath) {
  auto s = open();
  for (int i = 0; i < 3000; ++i) {
    s->put_person("t", "person-" + std::to_string(i),
                  std::string(100, static_cast<char>('a' + i % 26)));
  }
  s.reset();
  ASSERT_GT(fs::file_size(path_), 8u * 4096u);

  // Pages 3 to 5 are b-tree pages of the persons table.
  scribble(2 * 4096, 3 * 4096);
  auto broken = sqlite_store::open(open_options{path_, false});

  ASSERT_FALSE(broken);
  EXPECT_NE(broken.err().context.find(path_), std::string::npos);
}

TEST_F(SqliteStore, ResetReplacesACorruptFileWithAnEmptyStore) {
  {
    std::ofstream f{path_};
    f << std::string(8192, 'x');
  }

  auto s = open(true);

  ASSERT_TRUE(s);
  EXPECT_EQ(s->outcome(), open_outcome::reset);
  EXPECT_TRUE(s->person_records("t")->empty());
}

TEST_F(SqliteStore, ADeletedFileStartsAnEmptyStore) {
  auto s = open();
  s->put_person("t", "p", "r");
  s.reset();
  fs::remove(path_);
  fs::remove(path_ + "-wal");
  fs::remove(path_ + "-shm");

  auto again = open();

  EXPECT_EQ(again->outcome(), open_outcome::created);
  EXPECT_TRUE(again->person_records("t")->empty());
}

TEST_F(SqliteStore, AnOlderSchemaIsMigratedForward) {
  // A store as version 1 wrote it: checkpoints only.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "CREATE TABLE checkpoints (tenant TEXT NOT NULL,"
                         " stream TEXT NOT NULL, shard TEXT NOT NULL,"
                         " sequence_number TEXT NOT NULL,"
                         " PRIMARY KEY (tenant, stream, shard)) WITHOUT ROWID;"
                         "INSERT INTO checkpoints VALUES ('t','s','0','42');"
                         "PRAGMA user_version=1;",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);

  auto s = open();

  EXPECT_EQ(*s->checkpoint({"t", "s", "0"}), std::optional<std::string>{"42"});
  s->put_person("t", "p", "r");
  s->put_written("t", "p", side::teams, {"Busy/InACall", 5});
  EXPECT_FALSE(s->flush());
  EXPECT_EQ(s->written("t")->at("p").teams->value, "Busy/InACall");
}

TEST_F(SqliteStore, WrittenValuesSurviveAReopenPerSide) {
  auto s = open();
  s->put_written("t1", "alice", side::teams, {"Available/Available", 10});
  s->put_written("t1", "alice", side::teams, {"Busy/InACall", 20});
  s->put_written("t1", "alice", side::connect, {"Meeting", 15});
  s->put_written("t2", "alice", side::connect, {"Lunch", 1});
  ASSERT_FALSE(s->flush());
  s.reset();

  auto again = open();
  auto got = again->written("t1");

  ASSERT_TRUE(got);
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ(got->at("alice").teams, (written_value{"Busy/InACall", 20}));
  EXPECT_EQ(got->at("alice").connect, (written_value{"Meeting", 15}));
  EXPECT_EQ(again->written("t2")->at("alice").connect->value, "Lunch");
}

TEST_F(SqliteStore, ErasingAPersonErasesItsWrittenValues) {
  auto s = open();
  s->put_person("t", "alice", "r");
  s->put_written("t", "alice", side::teams, {"Busy/InACall", 20});
  ASSERT_FALSE(s->flush());

  s->erase_person("t", "alice");

  EXPECT_TRUE(s->written("t")->empty()); // queued erase seen at once
  ASSERT_FALSE(s->flush());
  EXPECT_TRUE(s->written("t")->empty());
  EXPECT_TRUE(s->person_records("t")->empty());
}

TEST_F(SqliteStore, WhenDurableCallsBackOnceTheQueuedWritesAreCommitted) {
  auto s = open();
  std::mutex m;
  std::condition_variable cv;
  bool called = false;
  uint64_t committed_then = 0;
  s->put_written("t", "alice", side::connect, {"Meeting", 1});

  s->when_durable([&](const std::optional<error>& e) {
    std::lock_guard<std::mutex> guard{m};
    called = !e;
    committed_then = s->stats().committed;
    cv.notify_all();
  });

  std::unique_lock<std::mutex> lock{m};
  ASSERT_TRUE(
    cv.wait_for(lock, std::chrono::seconds{10}, [&] { return called; }));
  EXPECT_EQ(committed_then, 1u);
}

TEST_F(SqliteStore, WhenDurableWithNothingQueuedCallsBackAtOnce) {
  auto s = open();
  bool called = false;

  s->when_durable([&](const std::optional<error>& e) { called = !e; });

  EXPECT_TRUE(called);
}

TEST_F(SqliteStore, ANewerSchemaIsRefused) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(
    sqlite3_exec(db, "PRAGMA user_version=99;", nullptr, nullptr, nullptr),
    SQLITE_OK);
  sqlite3_close(db);

  auto s = sqlite_store::open(open_options{path_, false});

  ASSERT_FALSE(s);
  EXPECT_NE(s.err().context.find("newer"), std::string::npos);
}

} // namespace
} // namespace presync::store
