// An in-memory remote side, for tests and the demo without emulators. It
// records every attempt it receives and answers ok, or with the failure a
// scripted_failure message arranged, the way sim/runner.cpp's simulated
// platforms do: a refresh is never failed, a 429 or 5xx is throttled, any
// other status fails the write.
#pragma once

#include "actors/messages.hpp"

#include <caf/all.hpp>

#include <deque>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace presync::actors {

/// Records every attempt and answers it at once. Handles write_dispatch
/// (answered to the sender with write_attempted), scripted_failure and
/// (get_atom, records_atom) -> write_records. Serves both sides.
///
/// A class rather than a function: CAF 0.17 spawns a function-based actor
/// without arguments through a null pointer, which UBSan reports.
class memory_writer : public caf::event_based_actor {
 public:
  explicit memory_writer(caf::actor_config& cfg);

  caf::behavior make_behavior() override;

  const char* name() const override { return "presync.memory_writer"; }

 private:
  std::vector<write_record> records_;
  std::map<std::pair<std::string, side>, std::deque<scripted_failure>>
    failures_;
};

/// Spawns a memory writer.
caf::actor spawn_memory_writer(caf::actor_system& sys);

} // namespace presync::actors
