// The SQLite implementation of state_store: one file per process (WAL
// journal), created on first start, with a schema version and forward
// migrations. A writer thread commits queued writes in one transaction per
// batch; a newer write for the same key replaces a queued older one.
//
// A file that is not a database, fails SQLite's quick check or carries a
// schema newer than this build is an error naming the path; presync then
// refuses to start unless told to reset the state (`--reset-state`).
#pragma once

#include "adapters/store/state_store.hpp"

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

struct sqlite3;

namespace presync::store {

/// Sees how long one committed batch took, BEGIN to COMMIT, in seconds.
/// Runs on the store's writer thread: it must be quick and must not call
/// the store.
using commit_observer = std::function<void(double seconds)>;

/// How to open the store.
struct open_options {
  std::string path;
  /// Delete whatever is at `path` (and its -wal and -shm files) first.
  bool reset = false;
  /// Called after each batch that committed (metrics); may be empty.
  commit_observer on_commit = {};
};

/// What open() found.
enum class open_outcome : uint8_t {
  created, ///< no file was there: a new, empty store
  opened,  ///< an existing store, migrated to the current schema
  reset,   ///< the old file was deleted on request; a new, empty store
};

/// Returns "created", "opened" or "reset".
std::string_view to_string(open_outcome x);

/// The schema version this build writes.
inline constexpr int schema_version = 3;

class sqlite_store final : public state_store {
 public:
  /// Opens (or creates) the store at `opts.path`. Fails with
  /// config_invalid and a message naming the path when the file is
  /// unreadable, corrupt or from a newer presync.
  [[nodiscard]] static expected<std::unique_ptr<sqlite_store>>
  open(const open_options& opts);

  ~sqlite_store() override;

  sqlite_store(const sqlite_store&) = delete;
  sqlite_store& operator=(const sqlite_store&) = delete;

  expected<std::optional<std::string>>
  checkpoint(const checkpoint_key& key) override;
  void put_checkpoint(const checkpoint_key& key,
                      std::string sequence_number) override;
  expected<std::map<std::string, std::string>>
  person_records(const std::string& tenant) override;
  void put_person(const std::string& tenant, const std::string& person,
                  std::string record) override;
  void erase_person(const std::string& tenant,
                    const std::string& person) override;
  void put_written(const std::string& tenant, const std::string& person,
                   side to, written_value v) override;
  expected<std::map<std::string, written_sides>>
  written(const std::string& tenant) override;
  void when_durable(durable_fn done) override;
  std::optional<error> flush() override;
  store_stats stats() const override;

  /// Returns what open() found.
  open_outcome outcome() const { return outcome_; }

  /// Returns the file's path.
  const std::string& path() const { return path_; }

 private:
  using person_key = std::pair<std::string, std::string>;
  using written_key = std::tuple<std::string, std::string, side>;

  /// Writes waiting for the writer thread; nullopt erases a person. Within
  /// a batch, erasures go before written values.
  struct batch {
    std::map<checkpoint_key, std::string> checkpoints;
    std::map<person_key, std::optional<std::string>> persons;
    std::map<written_key, written_value> written;
    bool empty() const {
      return checkpoints.empty() && persons.empty() && written.empty();
    }
    size_t rows() const {
      return checkpoints.size() + persons.size() + written.size();
    }
  };

  sqlite_store(sqlite3* db, std::string path, open_outcome outcome,
               commit_observer on_commit);

  void run_writer();
  std::optional<error> commit(const batch& b);
  void note_queued(bool replaced);

  sqlite3* db_;
  std::string path_;
  open_outcome outcome_;
  commit_observer on_commit_; ///< set at open, read by the writer thread

  std::mutex db_mutex_; ///< one user of db_ at a time (reads, the writer)

  mutable std::mutex mutex_;     ///< guards the members below
  std::condition_variable wake_; ///< the writer waits on it
  std::condition_variable done_; ///< flush() waits on it
  batch pending_;
  batch inflight_;             ///< taken by the writer, not committed yet
  uint64_t queued_gen_ = 0;    ///< bumped by every queued write
  uint64_t committed_gen_ = 0; ///< every write up to this one is on disk
  /// when_durable() callbacks up to committed_gen_ have run; flush() waits
  /// for this, so a flush also waits for the callbacks before it.
  uint64_t called_gen_ = 0;
  bool stopping_ = false;
  std::optional<error> failed_; ///< latched: the first batch that failed
  /// when_durable() callers, with the generation they wait for.
  std::vector<std::pair<uint64_t, durable_fn>> waiters_;
  store_stats stats_;
  std::thread writer_;
};

} // namespace presync::store
