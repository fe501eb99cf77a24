// presync: the command line. Each subcommand lives in its own unit; this
// file only dispatches.
#include "app/demo_cmd.hpp"
#include "app/explain_cmd.hpp"
#include "app/run_cmd.hpp"
#include "app/scenarios_cmd.hpp"
#include "config/check_config.hpp"

#include <cstdio>
#include <cstring>
#include <string_view>

namespace {

constexpr const char* usage = R"(usage: presync COMMAND [ARGS]

commands:
  run --config FILE    run the sync service
  demo [OPTIONS]       run a live contact centre on the local emulators
  scenarios DIR...     replay every *.yaml story in DIR on a simulated clock
  explain --person ID  ask the running service why a person shows what it does
  check-config FILE    validate a config file and list every problem
  help                 show this text

Run `presync COMMAND --help` for a command's options.
)";

} // namespace

#ifdef PRESYNC_WITH_JEMALLOC
// Read by jemalloc at start: a background thread hands freed pages back to
// the system even while presync is idle (CMakeLists.txt, the allocator).
extern "C" {
const char* malloc_conf = "background_thread:true";
}
#endif

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(usage, stderr);
    return 2;
  }
  std::string_view cmd = argv[1];
  if (cmd == "help" || cmd == "--help" || cmd == "-h") {
    std::fputs(usage, stdout);
    return 0;
  }
  if (cmd == "run") {
    return presync::app::run_main(argc - 2, argv + 2);
  }
  if (cmd == "demo") {
    return presync::app::demo_main(argc - 2, argv + 2);
  }
  if (cmd == "explain") {
    return presync::app::explain_main(argc - 2, argv + 2);
  }
  if (cmd == "scenarios") {
    return presync::app::scenarios_main(argc - 2, argv + 2);
  }
  if (cmd == "check-config") {
    return presync::config::check_config_main(argc - 1, argv + 1);
  }
  std::fprintf(stderr, "presync: unknown command '%s'\n\n%s", argv[1], usage);
  return 2;
}
