// Reads the recorded Graph payloads of ../shared/fixtures/graph.
#pragma once

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace presync::graph::testing {

/// Returns the text of fixtures/graph/`name`; throws if it cannot be read.
inline std::string fixture(const std::string& name) {
  std::ifstream in{std::string{PRESYNC_SHARED_DIR} + "/fixtures/graph/" + name};
  if (!in) {
    throw std::runtime_error("cannot read fixture " + name);
  }
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

} // namespace presync::graph::testing
