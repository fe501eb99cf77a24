#include "adapters/store/checkpoints.hpp"

#include "adapters/log/log.hpp"

#include <utility>

namespace presync::store {

store_checkpoints::store_checkpoints(state_store& store, std::string tenant,
                                     std::string stream)
  : store_(store), tenant_(std::move(tenant)), stream_(std::move(stream)) {}

std::optional<std::string> store_checkpoints::get(const std::string& shard_id) {
  auto got = store_.checkpoint(checkpoint_key{tenant_, stream_, shard_id});
  if (!got) {
    static const log::logger logger{"store"};
    logger.error("checkpoint_unreadable",
                 {log::kv("tenant", tenant_), log::kv("shard", shard_id),
                  log::kv("error", got.err().describe())});
    return std::nullopt;
  }
  return *got;
}

void store_checkpoints::put(const std::string& shard_id,
                            const std::string& sequence_number) {
  store_.put_checkpoint(checkpoint_key{tenant_, stream_, shard_id},
                        sequence_number);
}

} // namespace presync::store
