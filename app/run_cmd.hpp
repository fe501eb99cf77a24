// `presync run --config FILE`: the long-running sync service.
#pragma once

namespace presync::app {

/// Runs the service until SIGTERM or SIGINT; returns the exit status.
/// `argv` holds the arguments after "run".
int run_main(int argc, char** argv);

} // namespace presync::app
