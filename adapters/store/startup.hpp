// Opening the state store when presync starts: what is logged and what
// stops the start (issue #6, "Done means").
#pragma once

#include "adapters/store/sqlite_store.hpp"

#include <memory>
#include <string>

namespace presync::store {

/// Opens the store at `path` for `presync run`, deleting it first when
/// `reset` is set, and logs what it found (store_opened with created,
/// opened or reset). A file that cannot be used is logged as
/// store_unusable and printed to stderr with the path and the way out
/// (--reset-state); the result is then null and presync must not start.
/// `on_commit` sees each committed batch's duration (metrics).
std::unique_ptr<sqlite_store> open_state_store(const std::string& path,
                                               bool reset,
                                               commit_observer on_commit = {});

} // namespace presync::store
