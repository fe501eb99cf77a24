#include "adapters/store/sqlite_store.hpp"

#include <sqlite3.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <functional>

namespace presync::store {

namespace {

/// Forward migrations: entry i takes a store from version i to i + 1.
constexpr std::array<const char*, schema_version> migrations{
  // 0 -> 1: checkpoints of the agent event streams.
  "CREATE TABLE checkpoints ("
  " tenant TEXT NOT NULL, stream TEXT NOT NULL, shard TEXT NOT NULL,"
  " sequence_number TEXT NOT NULL,"
  " PRIMARY KEY (tenant, stream, shard)) WITHOUT ROWID;",
  // 1 -> 2: the state of each person (protocol/person_record.hpp).
  "CREATE TABLE persons ("
  " tenant TEXT NOT NULL, person TEXT NOT NULL, record TEXT NOT NULL,"
  " PRIMARY KEY (tenant, person)) WITHOUT ROWID;",
  // 2 -> 3: the last value written to each side of each person.
  "CREATE TABLE written ("
  " tenant TEXT NOT NULL, person TEXT NOT NULL, side TEXT NOT NULL,"
  " value TEXT NOT NULL, at_ms INTEGER NOT NULL,"
  " PRIMARY KEY (tenant, person, side)) WITHOUT ROWID;",
};

error store_error(const std::string& path, const std::string& what) {
  return make_error(sync_error::config_invalid, "store " + path + ": " + what);
}

std::string message_of(sqlite3* db) {
  return db == nullptr ? "out of memory" : sqlite3_errmsg(db);
}

/// Runs `sql`; returns SQLite's message on failure.
std::optional<std::string> exec(sqlite3* db, const char* sql) {
  char* msg = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &msg) == SQLITE_OK) {
    return std::nullopt;
  }
  std::string out = msg != nullptr ? msg : message_of(db);
  sqlite3_free(msg);
  return out;
}

/// A prepared statement that finalizes itself.
class statement {
 public:
  statement(sqlite3* db, const char* sql) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) {
      stmt_ = nullptr;
    }
  }
  ~statement() { sqlite3_finalize(stmt_); }
  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;

  explicit operator bool() const { return stmt_ != nullptr; }
  sqlite3_stmt* get() const { return stmt_; }

  void bind(int i, std::string_view text) {
    sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()),
                      SQLITE_TRANSIENT);
  }

  void bind(int i, int64_t n) { sqlite3_bind_int64(stmt_, i, n); }

  int64_t column_int(int i) const { return sqlite3_column_int64(stmt_, i); }

  std::string column(int i) const {
    const auto* p = sqlite3_column_text(stmt_, i);
    return p == nullptr
             ? std::string{}
             : std::string{reinterpret_cast<const char*>(p),
                           static_cast<size_t>(sqlite3_column_bytes(stmt_, i))};
  }

  /// Runs a statement that returns no rows, then makes it reusable.
  bool run() {
    auto rc = sqlite3_step(stmt_);
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    return rc == SQLITE_DONE;
  }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

/// Reads the first column of a pragma's first row; nullopt when the file
/// cannot answer.
std::optional<std::string> pragma_text(sqlite3* db, const char* sql) {
  statement s{db, sql};
  if (!s || sqlite3_step(s.get()) != SQLITE_ROW) {
    return std::nullopt;
  }
  return s.column(0);
}

/// Checks the file and brings its schema up to date.
std::optional<error> prepare(sqlite3* db, const std::string& path) {
  // WAL survives a killed process; synchronous=NORMAL syncs at checkpoints
  // only, which loses nothing on a process crash (only on power loss).
  auto mode = pragma_text(db, "PRAGMA journal_mode=WAL;");
  if (!mode) {
    return store_error(path, "cannot read: " + message_of(db) +
                               " (corrupt, or not a presync store)");
  }
  if (*mode != "wal") {
    return store_error(path,
                       "cannot switch to WAL (journal mode " + *mode + ")");
  }
  if (auto e = exec(db, "PRAGMA synchronous=NORMAL;")) {
    return store_error(path, *e);
  }

  // A damaged page shows here, before any of it is trusted.
  auto verdict = pragma_text(db, "PRAGMA quick_check;");
  if (!verdict) {
    return store_error(path,
                       "corrupt: integrity check failed: " + message_of(db));
  }
  if (*verdict != "ok") {
    return store_error(path, "corrupt: " + *verdict);
  }

  auto text = pragma_text(db, "PRAGMA user_version;");
  std::optional<int64_t> version;
  if (text) {
    version = std::stoll(*text);
  }
  if (!version) {
    return store_error(path,
                       "cannot read the schema version: " + message_of(db));
  }
  if (*version > schema_version) {
    return store_error(path, "schema version " + std::to_string(*version) +
                               " is newer than this presync's (" +
                               std::to_string(schema_version) + ")");
  }
  for (auto v = static_cast<size_t>(*version); v < migrations.size(); ++v) {
    auto sql = std::string{"BEGIN IMMEDIATE;"} + migrations[v] +
               "PRAGMA user_version=" + std::to_string(v + 1) + ";COMMIT;";
    if (auto e = exec(db, sql.c_str())) {
      exec(db, "ROLLBACK;");
      return store_error(path, "migration to schema version " +
                                 std::to_string(v + 1) + " failed: " + *e);
    }
  }
  return std::nullopt;
}

/// Returns the stored name of a side.
std::string_view side_name(side s) {
  return s == side::teams ? "teams" : "connect";
}

bool file_exists(const std::string& path) {
  if (auto* f = std::fopen(path.c_str(), "rb")) {
    std::fclose(f);
    return true;
  }
  return false;
}

} // namespace

std::string_view to_string(open_outcome x) {
  switch (x) {
  case open_outcome::created:
    return "created";
  case open_outcome::opened:
    return "opened";
  case open_outcome::reset:
    return "reset";
  }
  return "opened";
}

expected<std::unique_ptr<sqlite_store>>
sqlite_store::open(const open_options& opts) {
  const auto& path = opts.path;
  if (path.empty()) {
    return make_error(sync_error::config_invalid, "store.path is empty");
  }

  auto outcome = open_outcome::opened;
  if (opts.reset) {
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::remove((path + suffix).c_str());
    }
    outcome = open_outcome::reset;
  } else if (!file_exists(path)) {
    outcome = open_outcome::created;
  }

  sqlite3* db = nullptr;
  auto rc = sqlite3_open_v2(
    path.c_str(), &db,
    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    auto e = store_error(path, "cannot open: " + message_of(db));
    sqlite3_close(db);
    return e;
  }
  sqlite3_busy_timeout(db, 5000);
  if (auto e = prepare(db, path)) {
    sqlite3_close(db);
    return *e;
  }
  return std::unique_ptr<sqlite_store>{
    new sqlite_store{db, path, outcome, opts.on_commit}};
}

sqlite_store::sqlite_store(sqlite3* db, std::string path, open_outcome outcome,
                           commit_observer on_commit)
  : db_(db), path_(std::move(path)), outcome_(outcome),
    on_commit_(std::move(on_commit)) {
  writer_ = std::thread{[this] {
    run_writer();
  }};
}

sqlite_store::~sqlite_store() {
  // Whatever is queued is written before the file closes.
  {
    std::lock_guard<std::mutex> guard{mutex_};
    stopping_ = true;
  }
  wake_.notify_all();
  writer_.join();
  sqlite3_close(db_);
}

void sqlite_store::note_queued(bool replaced) {
  ++queued_gen_;
  ++stats_.queued;
  stats_.coalesced += replaced ? 1u : 0u;
}

void sqlite_store::put_checkpoint(const checkpoint_key& key,
                                  std::string sequence_number) {
  {
    std::lock_guard<std::mutex> guard{mutex_};
    auto [i, added] =
      pending_.checkpoints.insert_or_assign(key, std::move(sequence_number));
    note_queued(!added);
  }
  wake_.notify_one();
}

void sqlite_store::put_person(const std::string& tenant,
                              const std::string& person, std::string record) {
  {
    std::lock_guard<std::mutex> guard{mutex_};
    auto [i, added] = pending_.persons.insert_or_assign(
      person_key{tenant, person}, std::move(record));
    note_queued(!added);
  }
  wake_.notify_one();
}

void sqlite_store::erase_person(const std::string& tenant,
                                const std::string& person) {
  {
    std::lock_guard<std::mutex> guard{mutex_};
    auto [i, added] = pending_.persons.insert_or_assign(
      person_key{tenant, person}, std::nullopt);
    note_queued(!added);
    for (auto s : {side::teams, side::connect}) {
      pending_.written.erase(written_key{tenant, person, s});
    }
  }
  wake_.notify_one();
}

void sqlite_store::put_written(const std::string& tenant,
                               const std::string& person, side to,
                               written_value v) {
  {
    std::lock_guard<std::mutex> guard{mutex_};
    auto [i, added] = pending_.written.insert_or_assign(
      written_key{tenant, person, to}, std::move(v));
    note_queued(!added);
  }
  wake_.notify_one();
}

expected<std::map<std::string, written_sides>>
sqlite_store::written(const std::string& tenant) {
  std::map<std::string, written_sides> out;
  auto slot = [&](const std::string& person, side s) -> auto& {
    auto& w = out[person];
    return s == side::teams ? w.teams : w.connect;
  };
  std::lock_guard<std::mutex> db_guard{db_mutex_}; // as in person_records
  {
    statement s{db_, "SELECT person, side, value, at_ms FROM written"
                     " WHERE tenant=?1;"};
    if (!s) {
      return store_error(path_, "reading written values: " + message_of(db_));
    }
    s.bind(1, tenant);
    int rc = 0;
    while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
      auto to = s.column(1) == "teams" ? side::teams : side::connect;
      slot(s.column(0), to) = written_value{s.column(2), s.column_int(3)};
    }
    if (rc != SQLITE_DONE) {
      return store_error(path_, "reading written values: " + message_of(db_));
    }
  }

  // Queued writes win over the file, older batches first; an erased
  // person loses what the file had.
  std::lock_guard<std::mutex> guard{mutex_};
  for (const auto* b : {&inflight_, &pending_}) {
    for (const auto& [k, record] : b->persons) {
      if (k.first == tenant && !record) {
        out.erase(k.second);
      }
    }
    for (const auto& [k, v] : b->written) {
      if (std::get<0>(k) == tenant) {
        slot(std::get<1>(k), std::get<2>(k)) = v;
      }
    }
  }
  return out;
}

void sqlite_store::when_durable(durable_fn done) {
  std::optional<error> now;
  {
    std::lock_guard<std::mutex> guard{mutex_};
    if (committed_gen_ < queued_gen_ && !failed_) {
      waiters_.emplace_back(queued_gen_, std::move(done));
      wake_.notify_one();
      return;
    }
    now = failed_;
  }
  done(now);
}

expected<std::optional<std::string>>
sqlite_store::checkpoint(const checkpoint_key& key) {
  // A queued value is newer than the file's.
  {
    std::lock_guard<std::mutex> guard{mutex_};
    for (const auto* b : {&pending_, &inflight_}) {
      if (auto i = b->checkpoints.find(key); i != b->checkpoints.end()) {
        return std::optional<std::string>{i->second};
      }
    }
  }

  std::lock_guard<std::mutex> guard{db_mutex_};
  statement s{db_, "SELECT sequence_number FROM checkpoints"
                   " WHERE tenant=?1 AND stream=?2 AND shard=?3;"};
  if (!s) {
    return store_error(path_, "reading a checkpoint: " + message_of(db_));
  }
  s.bind(1, key.tenant);
  s.bind(2, key.stream);
  s.bind(3, key.shard);
  switch (sqlite3_step(s.get())) {
  case SQLITE_ROW:
    return std::optional<std::string>{s.column(0)};
  case SQLITE_DONE:
    return std::optional<std::string>{};
  default:
    return store_error(path_, "reading a checkpoint: " + message_of(db_));
  }
}

expected<std::map<std::string, std::string>>
sqlite_store::person_records(const std::string& tenant) {
  std::map<std::string, std::string> out;
  // db_mutex_ stays held until the queued writes are read too, so no batch
  // commits in between (it would be in neither the file read nor the
  // queue). Lock order: db_mutex_, then mutex_; the writer never holds
  // mutex_ while it commits.
  std::lock_guard<std::mutex> db_guard{db_mutex_};
  {
    statement s{db_, "SELECT person, record FROM persons WHERE tenant=?1;"};
    if (!s) {
      return store_error(path_, "reading persons: " + message_of(db_));
    }
    s.bind(1, tenant);
    int rc = 0;
    while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
      out[s.column(0)] = s.column(1);
    }
    if (rc != SQLITE_DONE) {
      return store_error(path_, "reading persons: " + message_of(db_));
    }
  }

  // Queued writes win over the file, older batches first.
  std::lock_guard<std::mutex> guard{mutex_};
  for (const auto* b : {&inflight_, &pending_}) {
    for (const auto& [k, record] : b->persons) {
      if (k.first != tenant) {
        continue;
      }
      if (record) {
        out[k.second] = *record;
      } else {
        out.erase(k.second);
      }
    }
  }
  return out;
}

std::optional<error> sqlite_store::flush() {
  std::unique_lock<std::mutex> lock{mutex_};
  const auto target = queued_gen_;
  wake_.notify_one();
  done_.wait(lock, [&] { return called_gen_ >= target || failed_; });
  return failed_;
}

store_stats sqlite_store::stats() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return stats_;
}

void sqlite_store::run_writer() {
  std::unique_lock<std::mutex> lock{mutex_};
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
    if (pending_.empty() && stopping_) {
      return;
    }

    // Take everything queued so far; puts go on while the batch commits.
    inflight_ = std::move(pending_);
    pending_ = batch{};
    const auto gen = queued_gen_;
    lock.unlock();
    auto failure = commit(inflight_);
    lock.lock();

    const auto rows = inflight_.rows();
    inflight_ = batch{};
    if (failure) {
      // TODO: a failed batch latches the store (every flush reports it)
      // and its writes are lost; a retry with back-off for SQLITE_BUSY or
      // a full disk would keep the process going.
      if (!failed_) {
        failed_ = std::move(failure);
      }
    } else {
      stats_.committed += rows;
      ++stats_.batches;
    }
    committed_gen_ = gen;

    // Callers of when_durable() whose writes are in: told outside the lock.
    std::vector<durable_fn> ready;
    auto keep = waiters_.begin();
    for (auto& w : waiters_) {
      if (w.first <= committed_gen_ || failed_) {
        ready.push_back(std::move(w.second));
      } else {
        *keep++ = std::move(w);
      }
    }
    waiters_.erase(keep, waiters_.end());
    if (!ready.empty()) {
      auto failure = failed_;
      lock.unlock();
      for (auto& f : ready) {
        f(failure);
      }
      lock.lock();
    }
    called_gen_ = gen;
    done_.notify_all();
  }
}

std::optional<error> sqlite_store::commit(const batch& b) {
  std::lock_guard<std::mutex> guard{db_mutex_};
  auto fail = [this](const std::string& step) {
    auto e = store_error(path_, step + ": " + message_of(db_));
    exec(db_, "ROLLBACK;");
    return e;
  };
  const auto started = std::chrono::steady_clock::now();
  if (exec(db_, "BEGIN IMMEDIATE;")) {
    return fail("begin");
  }

  statement put_cp{db_, "INSERT OR REPLACE INTO checkpoints"
                        " (tenant, stream, shard, sequence_number)"
                        " VALUES (?1, ?2, ?3, ?4);"};
  statement put_person{db_, "INSERT OR REPLACE INTO persons"
                            " (tenant, person, record) VALUES (?1, ?2, ?3);"};
  statement del_person{db_,
                       "DELETE FROM persons WHERE tenant=?1 AND person=?2;"};
  statement del_written{db_,
                        "DELETE FROM written WHERE tenant=?1 AND person=?2;"};
  statement put_written{db_, "INSERT OR REPLACE INTO written"
                             " (tenant, person, side, value, at_ms)"
                             " VALUES (?1, ?2, ?3, ?4, ?5);"};
  if (!put_cp || !put_person || !del_person || !del_written || !put_written) {
    return fail("prepare");
  }
  for (const auto& [k, seq] : b.checkpoints) {
    put_cp.bind(1, k.tenant);
    put_cp.bind(2, k.stream);
    put_cp.bind(3, k.shard);
    put_cp.bind(4, seq);
    if (!put_cp.run()) {
      return fail("writing a checkpoint");
    }
  }
  for (const auto& [k, record] : b.persons) {
    auto& s = record ? put_person : del_person;
    s.bind(1, k.first);
    s.bind(2, k.second);
    if (record) {
      s.bind(3, *record);
    }
    if (!s.run()) {
      return fail("writing a person");
    }
    if (!record) {
      del_written.bind(1, k.first);
      del_written.bind(2, k.second);
      if (!del_written.run()) {
        return fail("erasing written values");
      }
    }
  }
  for (const auto& [k, v] : b.written) {
    put_written.bind(1, std::get<0>(k));
    put_written.bind(2, std::get<1>(k));
    put_written.bind(3, side_name(std::get<2>(k)));
    put_written.bind(4, v.value);
    put_written.bind(5, v.at_ms);
    if (!put_written.run()) {
      return fail("writing a written value");
    }
  }
  if (exec(db_, "COMMIT;")) {
    return fail("commit");
  }
  if (on_commit_) {
    using seconds = std::chrono::duration<double>;
    on_commit_(seconds{std::chrono::steady_clock::now() - started}.count());
  }
  return std::nullopt;
}

} // namespace presync::store
