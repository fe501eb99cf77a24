// Where the agent event consumer keeps its position per Kinesis shard
// (spec/connect.md §4.4). The in-memory store serves tests and runs without
// persistence; the SQLite store comes with adapters/store.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace presync::connect {

/// Stores the last handed-over sequence number of each shard.
class checkpoint_store {
 public:
  virtual ~checkpoint_store() = default;

  /// Returns the checkpoint of `shard_id`, or nullopt when there is none.
  virtual std::optional<std::string> get(const std::string& shard_id) = 0;

  /// Records that every record of `shard_id` up to `sequence_number` was
  /// handed to the supervisor.
  virtual void put(const std::string& shard_id,
                   const std::string& sequence_number) = 0;
};

/// Keeps checkpoints in a map; thread-safe.
class memory_checkpoint_store : public checkpoint_store {
 public:
  std::optional<std::string> get(const std::string& shard_id) override;
  void put(const std::string& shard_id,
           const std::string& sequence_number) override;

  /// Returns every checkpoint (for tests).
  std::map<std::string, std::string> all() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::string> checkpoints_;
};

} // namespace presync::connect
