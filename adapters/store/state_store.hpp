// presync's durable state (DESIGN.md §2, "Store"): Kinesis checkpoints per
// shard, one record per person (protocol/person_record.hpp) and the last
// value presync wrote to each side of each person, behind an interface a
// shared database can implement for multi-replica deployments. SQLite
// (sqlite_store.hpp) is the embedded default.
//
// Writes are queued and committed in batches by the implementation, so a
// caller never waits for the disk; flush() waits until everything queued
// before it is durable, when_durable() says so without waiting. Writes are
// committed in the order they were queued (a later batch never lands
// before an earlier one), which is what lets a checkpoint follow the
// person records it depends on. Reads see queued writes.
#pragma once

#include "protocol/error.hpp"
#include "protocol/messages.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <tuple>

namespace presync::store {

/// Names one Kinesis shard of one tenant's stream.
struct checkpoint_key {
  std::string tenant;
  std::string stream;
  std::string shard;

  friend bool operator<(const checkpoint_key& a, const checkpoint_key& b) {
    return std::tie(a.tenant, a.stream, a.shard) <
           std::tie(b.tenant, b.stream, b.shard);
  }
};

/// The last value presync wrote to one side of one person, as the writer
/// confirmed it (issue #6: stored before the person hears of it).
struct written_value {
  std::string value; ///< "Busy/InACall", "clear" or an agent status name
  int64_t at_ms = 0; ///< wall clock (Unix ms) when the write was confirmed

  friend bool operator==(const written_value&, const written_value&) = default;
};

/// Both sides' last written values of one person.
struct written_sides {
  std::optional<written_value> teams;
  std::optional<written_value> connect;
};

/// Called once the writes queued before it are on disk, with the store's
/// latched error if a batch failed. Runs on the store's writer thread (or
/// the caller's, when nothing was queued): it must be quick.
using durable_fn = std::function<void(const std::optional<error>&)>;

/// Counters of a store since it opened.
struct store_stats {
  uint64_t queued = 0;    ///< writes asked for
  uint64_t coalesced = 0; ///< queued writes replaced by a newer one
  uint64_t committed = 0; ///< rows written to disk
  uint64_t batches = 0;   ///< transactions committed
};

class state_store {
 public:
  virtual ~state_store() = default;

  /// Returns the checkpoint of `key`, or nullopt when there is none.
  [[nodiscard]] virtual expected<std::optional<std::string>>
  checkpoint(const checkpoint_key& key) = 0;

  /// Queues `sequence_number` as the checkpoint of `key`.
  virtual void put_checkpoint(const checkpoint_key& key,
                              std::string sequence_number) = 0;

  /// Returns every person record of `tenant`, by person id.
  [[nodiscard]] virtual expected<std::map<std::string, std::string>>
  person_records(const std::string& tenant) = 0;

  /// Queues `record` (an opaque text, see protocol/person_record.hpp) as
  /// the state of `person`.
  virtual void put_person(const std::string& tenant, const std::string& person,
                          std::string record) = 0;

  /// Queues the removal of `person`'s record and written values.
  virtual void erase_person(const std::string& tenant,
                            const std::string& person) = 0;

  /// Queues `v` as the last value written to side `to` of `person`.
  virtual void put_written(const std::string& tenant, const std::string& person,
                           side to, written_value v) = 0;

  /// Returns the last written values of every person of `tenant`.
  [[nodiscard]] virtual expected<std::map<std::string, written_sides>>
  written(const std::string& tenant) = 0;

  /// Calls `done` once every write queued before the call is on disk.
  virtual void when_durable(durable_fn done) = 0;

  /// Waits until every write queued before the call is on disk and every
  /// when_durable() callback asked for before it has run. Returns the
  /// store's latched error, if a batch ever failed.
  [[nodiscard]] virtual std::optional<error> flush() = 0;

  /// Returns the counters so far.
  virtual store_stats stats() const = 0;
};

} // namespace presync::store
