#include "config/check_config.hpp"

#include <iostream>
#include <vector>

namespace presync::config {

namespace {

constexpr const char* usage = R"(usage: presync check-config FILE

Validates a presync config file and lists every problem it finds, each as
FILE:LINE: error|warning: PATH: MESSAGE, then a summary line. Secrets are
read from the environment variables the file names; check-config only
checks that they are set and never prints them.

exit status: 0 no errors (warnings allowed), 1 errors, 2 usage error or
unreadable file
)";

std::string plural(std::size_t n, std::string_view word) {
  return std::to_string(n) + " " + std::string{word} + (n == 1 ? "" : "s");
}

} // namespace

int check_config(std::span<const std::string> args, std::ostream& out,
                 std::ostream& err, const env_lookup& env) {
  if (args.size() == 1 && (args[0] == "--help" || args[0] == "-h")) {
    out << usage;
    return 0;
  }
  if (args.size() != 1 || args[0].empty() || args[0][0] == '-') {
    err << usage;
    return 2;
  }

  const auto& file = args[0];
  auto text = read_text_file(file);
  if (!text) {
    err << file << ": cannot read the file\n";
    return 2;
  }

  diagnostics diags{file};
  auto config = load_config_text(*text, diags, env);
  for (const auto& line : diags.format_all()) {
    out << line << '\n';
  }
  if (config) {
    out << file << ": OK (" << plural(config->tenants.size(), "tenant");
    if (diags.warning_count() > 0) {
      out << ", " << plural(diags.warning_count(), "warning");
    }
    out << ")\n";
    return 0;
  }
  out << file << ": " << plural(diags.error_count(), "error") << ", "
      << plural(diags.warning_count(), "warning") << '\n';
  return 1;
}

int check_config_main(int argc, char** argv) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    args.emplace_back(argv[i]);
  }
  return check_config(args, std::cout, std::cerr, process_environment());
}

} // namespace presync::config
