// Measures the SQLite state store: how many person and checkpoint writes
// per second it commits, sustained, when producers queue faster than the
// disk can take them one by one (`make bench-store`).
//
// usage: presync_store_bench [writes] [persons] [path]
#include "adapters/store/sqlite_store.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

int main(int argc, char** argv) {
  using namespace presync::store;
  using clock = std::chrono::steady_clock;
  const long writes = argc > 1 ? std::atol(argv[1]) : 1000000;
  const long persons = argc > 2 ? std::atol(argv[2]) : 10000;
  const std::string path = argc > 3 ? argv[3] : "/tmp/presync-store-bench.db";

  auto opened = sqlite_store::open(open_options{path, true});
  if (!opened) {
    std::fprintf(stderr, "%s\n", opened.err().describe().c_str());
    return 1;
  }
  auto& s = **opened;

  // A person record is a few hundred bytes of JSON in production.
  const std::string record(320, 'r');
  auto start = clock::now();
  for (long i = 0; i < writes; ++i) {
    if (i % 50 == 0) {
      s.put_checkpoint({"bench", "events", "shardId-0"}, std::to_string(i));
    } else {
      s.put_person("bench", "person-" + std::to_string(i % persons), record);
    }
  }
  if (auto e = s.flush()) {
    std::fprintf(stderr, "%s\n", e->describe().c_str());
    return 1;
  }
  auto secs = std::chrono::duration<double>(clock::now() - start).count();
  auto st = s.stats();
  std::printf("store: %ld writes queued in %.2f s: %.0f writes/s accepted, "
              "%lu rows committed in %lu transactions (%.0f rows/s, "
              "%lu coalesced)\n",
              writes, secs, static_cast<double>(writes) / secs,
              static_cast<unsigned long>(st.committed),
              static_cast<unsigned long>(st.batches),
              static_cast<double>(st.committed) / secs,
              static_cast<unsigned long>(st.coalesced));
  return 0;
}
