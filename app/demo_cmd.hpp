// `presync demo`: a live contact centre on the built-in emulators. Starts
// kinesalite, the Connect and Graph emulators and `presync run` on
// 127.0.0.1, creates the people, drives the workload of sim/workload.hpp
// in real time, lets the world settle and reports from what the emulators
// recorded (sim/demo_report.hpp). Everything it started is stopped again
// on exit, on error and on Ctrl-C.
#pragma once

#include "sim/workload.hpp"

#include <cstdint>
#include <string>

namespace presync::app {

/// The command line of `presync demo`.
struct demo_options {
  sim::workload_params workload;
  std::string report_file; ///< --report: where the JSON goes ("": nowhere)
  std::string work_dir;    ///< --work-dir ("": a fresh folder under /tmp)
  std::string bin_dir;     ///< --bin-dir ("": beside the running binary)
  bool no_presync = false; ///< --no-presync: emulators and workload only
  bool help = false;
};

/// Parses the flags after `demo`. Returns false with `error` set on a bad
/// flag or value.
[[nodiscard]] bool parse_demo_flags(int argc, char** argv, demo_options& out,
                                    std::string& error);

/// Where the generated config points presync.
struct demo_endpoints {
  std::uint16_t api_port = 0;
  std::uint16_t metrics_port = 0;
  std::uint16_t graph_port = 0;
  std::uint16_t connect_port = 0;
  std::uint16_t kinesis_port = 0;
  std::string work_dir;
};

/// presync's client id in the Graph emulator, which is also the session id
/// of presync's presence session.
inline constexpr const char* demo_client_id =
  "00000000-0000-0000-0000-0000000000b1";

/// Returns the config file the demo writes for `presync run`: one tenant
/// `demo` on the emulators, DESIGN.md §4 defaults and the example maps.
std::string demo_config_yaml(const demo_endpoints& e);

/// Runs `presync demo [FLAGS]`; returns the exit status: 0 when everyone
/// is consistent with no redundant write and no short change propagated,
/// 1 otherwise or on a start-up failure, 2 for bad flags, 130 when
/// interrupted.
int demo_main(int argc, char** argv);

} // namespace presync::app
