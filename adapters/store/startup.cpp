#include "adapters/store/startup.hpp"

#include "adapters/log/log.hpp"

#include <cstdio>

namespace presync::store {

std::unique_ptr<sqlite_store> open_state_store(const std::string& path,
                                               bool reset,
                                               commit_observer on_commit) {
  static const log::logger logger{"store"};
  auto opened =
    sqlite_store::open(open_options{path, reset, std::move(on_commit)});
  if (!opened) {
    const auto why = opened.err().describe();
    logger.error("store_unusable",
                 {log::kv("path", path), log::kv("error", why)});
    std::fprintf(stderr,
                 "presync run: %s\npresync run: the stored state at %s "
                 "cannot be used; nothing started. Start with --reset-state "
                 "to delete it and start fresh (every person is projected "
                 "again from both sides).\n",
                 why.c_str(), path.c_str());
    return nullptr;
  }

  auto& s = **opened;
  if (s.outcome() == open_outcome::reset) {
    logger.warning("store_reset", {log::kv("path", path)});
  }
  logger.info("store_opened",
              {log::kv("path", path),
               log::kv("outcome", std::string{to_string(s.outcome())}),
               log::kv("schema_version", schema_version)});
  return std::move(*opened);
}

} // namespace presync::store
