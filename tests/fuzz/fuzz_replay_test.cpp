// Replays the fuzz targets' seeds (fuzz/seeds.list, fuzz/seeds/NAME/) and
// kept crash inputs (fuzz/regressions/NAME/) through their entry functions:
// each must return normally, as it must under libFuzzer.
#include "fuzz/targets.hpp"

#include <gtest/gtest.h>

#include <fnmatch.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

namespace presync::fuzz {
namespace {

namespace fs = std::filesystem;

const fs::path repo{PRESYNC_SOURCE_DIR};
const fs::path shared{PRESYNC_SHARED_DIR};

/// Adds the files matching `parts` (path components, each a pattern)
/// below `dir`.
void glob(const fs::path& dir, std::vector<std::string> parts,
          std::vector<fs::path>& out) {
  if (parts.empty()) {
    if (fs::is_regular_file(dir)) {
      out.push_back(dir);
    }
    return;
  }
  auto first = parts.front();
  parts.erase(parts.begin());
  if (first.find_first_of("*?[") == std::string::npos) {
    glob(dir / first, parts, out);
    return;
  }
  if (!fs::is_directory(dir)) {
    return;
  }
  for (const auto& e : fs::directory_iterator(dir)) {
    if (fnmatch(first.c_str(), e.path().filename().c_str(), 0) == 0) {
      glob(e.path(), parts, out);
    }
  }
}

/// Every input of target `name`, sorted.
std::vector<fs::path> inputs_of(std::string_view name) {
  std::vector<fs::path> out;
  std::ifstream list{repo / "fuzz" / "seeds.list"};
  std::string line;
  while (std::getline(list, line)) {
    line = line.substr(0, line.find('#'));
    std::istringstream words{line};
    std::string target;
    std::string pattern;
    if (!(words >> target >> pattern) || target != name) {
      continue;
    }
    auto base = repo;
    if (pattern.starts_with("shared/")) {
      base = shared;
      pattern = pattern.substr(7);
    }
    std::vector<std::string> parts;
    for (const auto& p : fs::path{pattern}) {
      parts.push_back(p.string());
    }
    glob(base, parts, out);
  }
  for (const char* folder : {"seeds", "regressions"}) {
    auto dir = repo / "fuzz" / folder / std::string{name};
    if (fs::is_directory(dir)) {
      for (const auto& e : fs::directory_iterator(dir)) {
        if (e.is_regular_file()) {
          out.push_back(e.path());
        }
      }
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string read_bytes(const fs::path& file) {
  std::ifstream in{file, std::ios::binary};
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

class FuzzReplay : public ::testing::TestWithParam<target> {};

} // namespace

void PrintTo(const target& t, std::ostream* out) {
  *out << t.name;
}

namespace {

TEST_P(FuzzReplay, EverySeedAndKeptCrashInputIsHandled) {
  auto inputs = inputs_of(GetParam().name);

  ASSERT_FALSE(inputs.empty()) << "no seeds for " << GetParam().name;
  for (const auto& file : inputs) {
    SCOPED_TRACE(file.string());
    auto data = read_bytes(file);
    EXPECT_NO_THROW(GetParam().entry(data));
  }
}

INSTANTIATE_TEST_SUITE_P(Targets, FuzzReplay, ::testing::ValuesIn(all_targets),
                         [](const ::testing::TestParamInfo<target>& info) {
                           // agent_event -> AgentEvent
                           std::string name;
                           bool upper = true;
                           for (char c : info.param.name) {
                             if (c == '_') {
                               upper = true;
                               continue;
                             }
                             name +=
                               upper ? static_cast<char>(std::toupper(c)) : c;
                             upper = false;
                           }
                           return name;
                         });

} // namespace
} // namespace presync::fuzz
