#pragma once

namespace presync::app {

/// Runs `presync scenarios [--journal] PATH...`; returns the exit status.
int scenarios_main(int argc, char** argv);

} // namespace presync::app
