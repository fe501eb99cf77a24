// presync's durable state (DESIGN.md §2, "Store"): Kinesis checkpoints per
// shard and one record per person, behind an interface a shared database
// can implement for multi-replica deployments. SQLite (sqlite_store.hpp) is
// the embedded default.
//
// Writes are queued and committed in batches by the implementation, so a
// caller never waits for the disk; flush() waits until everything queued
// before it is durable. Reads see queued writes (read your own writes).
#pragma once

#include "protocol/error.hpp"

#include <cstdint>
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

  /// Queues the removal of `person`'s record.
  virtual void erase_person(const std::string& tenant,
                            const std::string& person) = 0;

  /// Waits until every write queued before the call is on disk. Returns
  /// the store's latched error, if a batch ever failed.
  [[nodiscard]] virtual std::optional<error> flush() = 0;

  /// Returns the counters so far.
  virtual store_stats stats() const = 0;
};

} // namespace presync::store
