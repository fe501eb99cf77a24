// The Connect adapter's actors: the agent event consumer, which drives a
// kinesis_consumer and sends connect_batch to the tenant supervisor, and
// the Connect-side writer of the tenant's write queue. Both block on HTTP,
// so they are spawned detached (one thread each).
#pragma once

#include "actors/messages.hpp"
#include "adapters/connect/connect_client.hpp"
#include "adapters/connect/kinesis_consumer.hpp"

#include <caf/all.hpp>

#include <map>
#include <memory>
#include <string>

namespace presync::connect {

/// Tags the consumer's own poll timer: (kpoll_atom).
using kpoll_atom = caf::atom_constant<caf::atom("kpoll")>;

/// Asks the consumer for its counters: (get_atom, kstats_atom)
/// -> consumer_stats.
using kstats_atom = caf::atom_constant<caf::atom("kstats")>;

/// Asks the writer for its counters: (get_atom, wstats_atom)
/// -> writer_stats.
using wstats_atom = caf::atom_constant<caf::atom("wstats")>;

/// Replaces who is who after a directory change: sent to the consumer
/// (UserId -> person) and to the writer (person -> UserId).
struct people_update {
  std::map<std::string, std::string> people;
};

/// Everything the consumer actor needs; the store outlives the actor.
struct consumer_setup {
  kinesis_call call;
  consumer_config config;
  std::map<std::string, std::string> people; ///< UserId -> person
  checkpoint_store* store = nullptr;
};

/// Polls the stream whenever a call is due and sends the applied events of
/// each GetRecords answer to `supervisor` as one connect_batch, in stream
/// order per shard. Handles
/// (get_atom, kstats_atom) -> consumer_stats and people_update.
caf::actor spawn_consumer_actor(caf::actor_system& sys, consumer_setup setup,
                                caf::actor supervisor);

/// Counters of the writer.
struct writer_stats {
  uint64_t writes = 0;           ///< write_dispatch received
  uint64_t status_refreshes = 0; ///< ListAgentStatuses reloads
  uint64_t api_calls = 0;        ///< Connect calls made by this writer
  uint64_t throttled = 0;        ///< writes answered throttled (retried)
  uint64_t failed = 0;           ///< writes answered failed
};

/// Answers write_dispatch with write_attempted (to the sender): resolves the
/// status name through a cached ListAgentStatuses (reloaded on a miss),
/// then calls PutUserStatus. 429, throttling codes and 5xx give throttled
/// with the Retry-After, every other error failed. `client` must outlive
/// the actor; `people` maps person -> Connect UserId (people_update
/// replaces it).
caf::actor spawn_connect_writer(caf::actor_system& sys, connect_client& client,
                                std::map<std::string, std::string> people);

} // namespace presync::connect

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(presync::connect::consumer_stats)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(presync::connect::writer_stats)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(presync::connect::people_update)
