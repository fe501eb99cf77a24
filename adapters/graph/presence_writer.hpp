// The Teams-side writer of one tenant's write queue: it packs the attempts
// it is sent into JSON $batch requests of up to 20 and answers each with
// its own outcome (spec/graph.md §4.2, §4.3, §6.3).
#pragma once

#include "actors/messages.hpp"
#include "adapters/graph/batch.hpp"
#include "adapters/graph/budget.hpp"
#include "adapters/graph/token_provider.hpp"
#include "adapters/http/client.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace presync::graph {

/// What a presence writer needs.
struct presence_writer_args {
  std::shared_ptr<http::client> http;
  std::shared_ptr<token_provider> tokens;
  std::shared_ptr<presence_budget> budget;
  endpoints where;
  session_settings session; ///< presync's client id and teams_session_ttl
  std::map<std::string, std::string> graph_ids; ///< person id -> Graph id
  duration gather_window = std::chrono::milliseconds{20};
  http::request_options options;
};

/// The writer's counters, for tests and metrics.
struct presence_writer_counters {
  uint64_t batches_sent = 0;    ///< $batch POSTs, resends included
  uint64_t writes_answered = 0; ///< write_attempted sent back
  uint64_t batch_failures = 0;  ///< whole-batch failures
  uint64_t token_refreshes = 0; ///< 401s that invalidated the token
};

/// Tags the writer's gather timer and internal replies.
using flush_atom = caf::atom_constant<caf::atom("gflush")>;

/// One attempt waiting for, or inside, a $batch.
struct pending_write {
  uint64_t ticket = 0;
  write_request request;
  caf::actor reply_to;
  presence_write write;
};

struct presence_writer_state {
  presence_writer_args args;
  std::vector<pending_write> pending;
  bool flush_scheduled = false;
  uint64_t next_batch = 1;
  std::map<uint64_t, std::vector<pending_write>> in_flight;
  std::map<uint64_t, bool> resent; ///< batch id -> resent after a 401
  presence_writer_counters counters;
  static inline const char* name = "presync.graph.presence_writer";
};

/// Replaces a writer's person -> Graph id pairs.
struct graph_id_update {
  std::map<std::string, std::string> graph_ids;
};

/// Handles write_dispatch (answered to its sender with write_attempted),
/// (get_atom, counters_atom) -> presence_writer_counters and
/// graph_id_update, new person -> Graph id pairs after a directory
/// change.
caf::behavior presence_writer(caf::stateful_actor<presence_writer_state>* self,
                              presence_writer_args args);

/// Spawns a presence writer.
caf::actor spawn_presence_writer(caf::actor_system& sys,
                                 presence_writer_args args);

} // namespace presync::graph

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(presync::graph::presence_writer_counters)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(presync::graph::graph_id_update)
