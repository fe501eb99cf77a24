// The figures that need the real actor layer: memory per person, the
// engine delay under load and the ingest rate from agent event records to
// a decision in the person actor (issue 9, figures 1, 2, 4 and 6).
//
// Each measurement runs the tenant supervisor, its person actors and its
// write queues exactly as `presync run` does; only the two writers are
// replaced by an actor that answers every write at once, so the figures
// are presync's own cost and not a platform's.
#pragma once

#include "protocol/time.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace presync::bench {

/// Resident memory of this process in bytes (/proc/self/statm).
int64_t resident_bytes();

/// CPU time this process used so far, in seconds (every thread).
double process_cpu_seconds();

/// Memory per person at one size.
struct memory_figure {
  int persons = 0;
  double bytes_per_person = 0;      ///< resident growth ÷ persons
  double heap_bytes_per_person = 0; ///< malloc'd bytes in use growth ÷ persons
  double journal_entries = 0;       ///< entries in a sampled person's journal
  double start_seconds = 0;         ///< spawning every person actor
  double fill_seconds = 0;          ///< the inputs that filled the journals
  /// CPU time per input while filling (µs), for the flat-cost check.
  double cpu_us_per_input = 0;
  double rest_after_s = 0; ///< the supervisor's rest_after; 0: never
  int64_t resting = 0;     ///< persons resting when measured
};

/// Starts a tenant of `persons` people, gives each `changes` Connect
/// changes (each a hold and its supersession, so the journal fills), lets
/// the holds end, and measures the resident growth against the process
/// before the tenant existed. With `rest_after` set, it measures once
/// every person rests (actors/tenant_supervisor.hpp, "Resting"). Run it in
/// a fresh process (see isolated()).
memory_figure measure_memory(int persons, int changes, duration hold,
                             duration rest_after);

/// The engine delay: from a hold's end to the write's request leaving
/// presync, and the part of it up to the writer.
struct delay_figure {
  int persons = 0;
  double changes_per_second = 0;
  double gather_ms = 0;    ///< the writer's gather window applied
  double rest_after_s = 0; ///< the supervisor's rest_after; 0: never
  uint64_t woken = 0;      ///< persons given an actor again meanwhile
  int64_t samples = 0;
  double p50_ms = 0; ///< to the request leaving, the gather included
  double p99_ms = 0;
  double max_ms = 0;
  double writer_p50_ms = 0; ///< to the write reaching the writer
  double writer_p99_ms = 0;
  double writer_max_ms = 0;
};

/// Runs `persons` people for `run`, changing the Connect state of a
/// different person `rate` times per second; every hold lasts `hold` and
/// ends (nobody changes twice within it). The Teams queue's budget is
/// lifted so that the figure is the engine's and not the platform's. The
/// writes reach a stand-in writer; when each would leave in a $batch is
/// computed from their arrivals with the Graph writer's rule for `gather`.
/// With `rest_after` set, persons rest while their holds run and are woken
/// ahead of them (actors/tenant_supervisor.hpp, "Resting").
delay_figure measure_engine_delay(int persons, double rate, duration run,
                                  duration hold, duration gather,
                                  duration rest_after);

/// When each write leaves under the Graph writer's gather rule
/// (adapters/graph/presence_writer.cpp): a batch starts with the first
/// write after the last one left and leaves when it holds `batch` writes
/// or when its first has waited `window`. `arrivals_us` is in order.
std::vector<int64_t> gather_departures(const std::vector<int64_t>& arrivals_us,
                                       int64_t window_us, size_t batch);

/// Agent event records to decisions, against simdjson alone.
struct ingest_figure {
  int64_t records = 0;
  double record_bytes = 0;         ///< mean size of one record
  double presync_per_cpu_s = 0;    ///< records to a decision per CPU second
  double simdjson_per_cpu_s = 0;   ///< the same records parsed by simdjson
  double parse_only_per_cpu_s = 0; ///< parse_agent_event alone
  double ratio = 0;                ///< presync ÷ simdjson
};

/// Makes `count` agent event records (the decoded Data of Kinesis
/// records, spec/connect.md §1.2) for `agents` agents, alternating their
/// states, with increasing timestamps.
std::vector<std::string> make_agent_events(int agents, int count);

/// Parses `records` `rounds` times with simdjson's DOM parser, and feeds
/// them through parse_agent_event, the event filter and the supervisor of
/// a tenant of `agents` people until every person actor has decided.
ingest_figure measure_ingest(int agents, int records, int rounds);

} // namespace presync::bench
