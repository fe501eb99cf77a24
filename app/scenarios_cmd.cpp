#include "app/scenarios_cmd.hpp"

#include "sim/runner.hpp"
#include "sim/scenario.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace presync::app {

namespace {

namespace fs = std::filesystem;

constexpr const char* usage = R"(usage: presync scenarios [--journal] PATH...

Replays every *.yaml story in each PATH (a folder, or one file) on a
simulated clock and prints PASS or FAIL with the first difference per
story. Exits 1 if any story fails, 2 for bad options or when no story
was found.

  --journal   also print every decision each person's journal recorded
)";

/// Collects the stories of a folder (sorted) or a single file.
bool collect(const std::string& path, std::vector<std::string>& files) {
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) {
    files.push_back(path);
    return true;
  }
  if (!fs::is_directory(path, ec)) {
    std::fprintf(stderr, "presync scenarios: %s: no such file or folder\n",
                 path.c_str());
    return false;
  }
  std::vector<std::string> found;
  for (const auto& entry : fs::directory_iterator(path, ec)) {
    if (entry.is_regular_file() && entry.path().extension() == ".yaml") {
      found.push_back(entry.path().string());
    }
  }
  std::sort(found.begin(), found.end());
  files.insert(files.end(), found.begin(), found.end());
  return true;
}

void print_journal(const sim::replay& r) {
  for (const auto& [person, entries] : r.decisions) {
    for (const auto& e : entries) {
      std::printf("    %8s  %-10s %-12s %-16s %s\n",
                  format_offset(e.at).c_str(), person.c_str(),
                  std::string{to_string(e.what)}.c_str(),
                  std::string{to_string(e.dir)}.c_str(), e.detail.c_str());
    }
  }
}

} // namespace

int scenarios_main(int argc, char** argv) {
  bool journal = false;
  std::vector<std::string> files;
  bool paths_ok = true;
  for (int i = 0; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(usage, stdout);
      return 0;
    }
    if (arg == "--journal") {
      journal = true;
    } else if (arg.starts_with("-")) {
      std::fprintf(stderr, "presync scenarios: unknown option %s\n\n%s",
                   argv[i], usage);
      return 2;
    } else {
      paths_ok = collect(argv[i], files) && paths_ok;
    }
  }
  if (files.empty()) {
    std::fprintf(stderr, "presync scenarios: no stories found\n\n%s", usage);
    return 2;
  }

  int passed = 0;
  int failed = 0;
  for (const auto& file : files) {
    std::vector<std::string> problems;
    auto story = sim::load_scenario(file, problems);
    if (!story) {
      ++failed;
      std::printf("FAIL %s: cannot load: %s\n", file.c_str(),
                  problems.empty() ? "?" : problems.front().c_str());
      for (size_t i = 1; i < problems.size(); ++i) {
        std::printf("     %s\n", problems[i].c_str());
      }
      continue;
    }
    auto result = sim::run_scenario(*story);
    auto diff = sim::first_difference(*story, result);
    if (diff.empty()) {
      ++passed;
      std::printf("PASS %s\n", file.c_str());
    } else {
      ++failed;
      std::printf("FAIL %s: %s\n", file.c_str(), diff.c_str());
    }
    if (journal) {
      std::printf("  %s\n", story->description.c_str());
      print_journal(result);
    }
  }
  std::printf("scenarios: %d passed, %d failed\n", passed, failed);
  return failed == 0 && paths_ok ? 0 : 1;
}

} // namespace presync::app
