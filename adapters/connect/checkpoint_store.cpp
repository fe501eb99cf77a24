#include "adapters/connect/checkpoint_store.hpp"

namespace presync::connect {

std::optional<std::string>
memory_checkpoint_store::get(const std::string& shard_id) {
  std::lock_guard<std::mutex> guard{mutex_};
  auto i = checkpoints_.find(shard_id);
  if (i == checkpoints_.end()) {
    return std::nullopt;
  }
  return i->second;
}

void memory_checkpoint_store::put(const std::string& shard_id,
                                  const std::string& sequence_number) {
  std::lock_guard<std::mutex> guard{mutex_};
  checkpoints_[shard_id] = sequence_number;
}

std::map<std::string, std::string> memory_checkpoint_store::all() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return checkpoints_;
}

} // namespace presync::connect
