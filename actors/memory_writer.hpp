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

struct memory_writer_state {
  std::vector<write_record> records;
  std::map<std::pair<std::string, side>, std::deque<scripted_failure>> failures;

  static inline const char* name = "presync.memory_writer";
};

using memory_writer_type = caf::stateful_actor<memory_writer_state>;

/// Runs a memory writer. Handles write_dispatch (answered to the sender
/// with write_attempted), scripted_failure and
/// (get_atom, records_atom) -> write_records. Serves both sides.
caf::behavior memory_writer(memory_writer_type* self);

} // namespace presync::actors
