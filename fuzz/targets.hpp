// The entry functions of presync's fuzz targets (issue 10, "Bad input").
//
// Each function feeds one input to a parser the way production would:
// bytes from the network, a file or an operator. It returns normally for
// every input; a crash, a sanitizer report or an escaping exception is a
// bug in the parser. The same functions run twice: under libFuzzer in the
// clang build (fuzz/driver.cpp, `make fuzz`), and in the gcc test suite,
// which replays every seed and every kept crash input through them
// (tests/fuzz/fuzz_replay_test.cpp), so a fixed crash stays fixed.
#pragma once

#include <string_view>

namespace presync::fuzz {

/// A Connect agent event record (a Kinesis record's data).
void agent_event(std::string_view data);

/// Graph presence answers: getPresencesByUserId and one presence object.
void graph_presence(std::string_view data);

/// Graph users and users/delta pages, Teams user configurations, and the
/// directory entry built from each user found (phone numbers included).
void graph_directory(std::string_view data);

/// Phone numbers: the first line is the default region, the rest the text.
void graph_phone(std::string_view data);

/// Graph error bodies, also as a failed answer with headers.
void graph_errors(std::string_view data);

/// The token endpoint's answers: a token, or an OAuth error.
void graph_token(std::string_view data);

/// A $batch answer to 1-20 writes (the input length picks how many).
void graph_batch(std::string_view data);

/// Kinesis GetRecords, ListShards and GetShardIterator answers and errors.
void kinesis(std::string_view data);

/// A presync config file (and the same text as a direct-number file).
void config(std::string_view data);

/// A sync scenario (story) file.
void scenario(std::string_view data);

/// An API request: "METHOD TARGET" on the first line, header lines, a
/// blank line, the body. A valid bearer token is added unless the input
/// has an Authorization header of its own.
void api(std::string_view data);

/// SigV4 signing of a raw HTTP request (the suite's .req format), and the
/// canonicalisation building blocks on the raw text.
void sigv4(std::string_view data);

/// One target: its name (the folder names under fuzz/) and entry.
struct target {
  std::string_view name;
  void (*entry)(std::string_view data);
};

/// Every target, in a fixed order.
inline constexpr target all_targets[] = {
  {"agent_event", agent_event},
  {"graph_presence", graph_presence},
  {"graph_directory", graph_directory},
  {"graph_phone", graph_phone},
  {"graph_errors", graph_errors},
  {"graph_token", graph_token},
  {"graph_batch", graph_batch},
  {"kinesis", kinesis},
  {"config", config},
  {"scenario", scenario},
  {"api", api},
  {"sigv4", sigv4},
};

} // namespace presync::fuzz
