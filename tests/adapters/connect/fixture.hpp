// Reading the shared Connect fixtures in tests.
#pragma once

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace presync::connect::testing {

inline std::filesystem::path fixture_dir() {
  return std::filesystem::path{PRESYNC_SHARED_DIR} / "fixtures/connect";
}

inline std::string read_fixture(const std::string& name) {
  std::ifstream in{fixture_dir() / name, std::ios::binary};
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

} // namespace presync::connect::testing
