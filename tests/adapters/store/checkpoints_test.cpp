#include "adapters/store/checkpoints.hpp"
#include "adapters/store/sqlite_store.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <unistd.h>

namespace presync::store {
namespace {

namespace fs = std::filesystem;

TEST(StoreCheckpoints, KeepsEachTenantsShardsApartAcrossARestart) {
  auto path = (fs::temp_directory_path() /
               ("presync-cp-" + std::to_string(::getpid()) + ".db"))
                .string();
  fs::remove(path);
  {
    auto s = sqlite_store::open(open_options{path, false}).value();
    store_checkpoints a{*s, "tenant-a", "events"};
    store_checkpoints b{*s, "tenant-b", "events"};
    a.put("shardId-0", "49590001");
    b.put("shardId-0", "49590002");
    EXPECT_EQ(a.get("shardId-0"), std::optional<std::string>{"49590001"});
  }

  auto s = sqlite_store::open(open_options{path, false}).value();
  store_checkpoints a{*s, "tenant-a", "events"};
  store_checkpoints other_stream{*s, "tenant-a", "other"};

  EXPECT_EQ(a.get("shardId-0"), std::optional<std::string>{"49590001"});
  EXPECT_EQ(a.get("shardId-1"), std::nullopt);
  EXPECT_EQ(other_stream.get("shardId-0"), std::nullopt);
  s.reset();
  for (const char* suffix : {"", "-wal", "-shm"}) {
    fs::remove(path + suffix);
  }
}

} // namespace
} // namespace presync::store
