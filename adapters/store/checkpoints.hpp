// The Kinesis consumer's checkpoints kept in the state store: one row per
// tenant, stream and shard. The consumer resumes a shard with a checkpoint
// at AFTER_SEQUENCE_NUMBER instead of its configured start.
#pragma once

#include "adapters/connect/checkpoint_store.hpp"
#include "adapters/store/state_store.hpp"

#include <string>

namespace presync::store {

/// A connect::checkpoint_store over a state_store.
class store_checkpoints final : public connect::checkpoint_store {
 public:
  /// `store` must outlive this object.
  store_checkpoints(state_store& store, std::string tenant, std::string stream);

  /// Returns the stored checkpoint. A store that cannot be read is logged
  /// as an error and answers nullopt, so the shard starts where the
  /// consumer is configured to (the reconciliation covers the gap).
  std::optional<std::string> get(const std::string& shard_id) override;

  /// Queues the checkpoint; the store commits it with its next batch.
  void put(const std::string& shard_id,
           const std::string& sequence_number) override;

 private:
  state_store& store_;
  std::string tenant_;
  std::string stream_;
};

} // namespace presync::store
