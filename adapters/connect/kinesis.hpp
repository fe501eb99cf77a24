// Kinesis Data Streams JSON 1.1 codecs for the agent event consumer
// (spec/connect.md §4): request bodies and headers, response parsing and
// error answers. No I/O: the caller signs (service "kinesis") and sends.
#pragma once

#include "adapters/aws/sigv4.hpp"
#include "adapters/connect/service_error.hpp"
#include "protocol/error.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace presync::connect::kinesis {

/// A POST / to the Kinesis endpoint: X-Amz-Target and Content-Type headers
/// plus the JSON body. The caller adds Host and signs.
struct request {
  std::string operation; ///< ListShards, GetShardIterator, GetRecords
  std::vector<aws::http_header> headers;
  std::string body;
};

// -- ListShards --------------------------------------------------------------

/// ListShards input. With next_token set the stream name is left out, as
/// Kinesis refuses both together.
struct list_shards_params {
  std::string stream_name;
  std::string stream_arn;
  std::string next_token;
  std::string exclusive_start_shard_id;
  std::optional<int> max_results;
  std::string shard_filter_type; ///< e.g. FROM_TRIM_HORIZON, AT_LATEST
};

/// One shard; closed when it has an ending sequence number.
struct shard {
  std::string shard_id;
  std::optional<std::string> parent_shard_id;
  std::optional<std::string> adjacent_parent_shard_id;
  std::string starting_hash_key;
  std::string ending_hash_key;
  std::string starting_sequence_number;
  std::optional<std::string> ending_sequence_number;

  bool closed() const { return ending_sequence_number.has_value(); }
};

/// ListShards output.
struct list_shards_result {
  std::vector<shard> shards;
  std::optional<std::string> next_token;
};

/// Builds a ListShards call; needs a stream name, ARN or next token.
[[nodiscard]] expected<request>
build_list_shards(const list_shards_params& params);

/// Parses a ListShards answer.
[[nodiscard]] expected<list_shards_result>
parse_list_shards(std::string_view body);

// -- GetShardIterator --------------------------------------------------------

/// Where a shard iterator starts (spec/connect.md §4.3).
enum class iterator_type : uint8_t {
  trim_horizon,
  latest,
  at_sequence_number,
  after_sequence_number,
  at_timestamp,
};

/// Returns TRIM_HORIZON, LATEST, AT_SEQUENCE_NUMBER, ...
std::string_view to_string(iterator_type t);

/// GetShardIterator input.
struct get_shard_iterator_params {
  std::string stream_name;
  std::string stream_arn;
  std::string shard_id;
  iterator_type type = iterator_type::latest;
  std::string starting_sequence_number; ///< for the *_SEQUENCE_NUMBER types
  std::optional<int64_t> timestamp_ms;  ///< for AT_TIMESTAMP
};

/// Builds a GetShardIterator call; rejects a missing shard id, stream, or
/// the sequence number / timestamp its type needs.
[[nodiscard]] expected<request>
build_get_shard_iterator(const get_shard_iterator_params& params);

/// Parses a GetShardIterator answer into the iterator.
[[nodiscard]] expected<std::string>
parse_get_shard_iterator(std::string_view body);

// -- GetRecords --------------------------------------------------------------

/// GetRecords input.
struct get_records_params {
  std::string shard_iterator;
  std::optional<int> limit; ///< 1 to 10000
  std::string stream_arn;
};

/// One record, its Data already base64-decoded.
struct record {
  std::string sequence_number; ///< decimal, up to 129 digits
  int64_t approximate_arrival_ms = 0;
  std::string data;
  std::string partition_key;
  std::string encryption_type; ///< NONE, KMS or empty
};

/// A child shard listed at the end of a closed shard.
struct child_shard {
  std::string shard_id;
  std::vector<std::string> parent_shards;
  std::string starting_hash_key;
  std::string ending_hash_key;
};

/// GetRecords output.
struct get_records_result {
  std::vector<record> records;
  /// Absent or null once a closed shard is read to its end.
  std::optional<std::string> next_shard_iterator;
  int64_t millis_behind_latest = 0;
  std::vector<child_shard> child_shards;
};

/// Builds a GetRecords call; rejects an empty iterator or a bad limit.
[[nodiscard]] expected<request>
build_get_records(const get_records_params& params);

/// Parses a GetRecords answer and decodes every Data blob; invalid base64
/// fails the whole answer, naming the record.
[[nodiscard]] expected<get_records_result>
parse_get_records(std::string_view body);

// -- Errors ------------------------------------------------------------------

/// Parses an error answer ({"__type": "...", "message": "..."}) of
/// `operation`. The type stays available for the consumer's decisions:
/// ExpiredIteratorException and ExpiredNextTokenException map to rejected
/// and mean "get a new iterator / restart the listing".
service_error parse_error(std::string_view operation, int http_status,
                          const std::vector<aws::http_header>& headers,
                          std::string_view body);

/// Compares two sequence numbers (decimal strings, no leading zeros) as
/// integers: negative, zero or positive.
int compare_sequence_numbers(std::string_view a, std::string_view b);

} // namespace presync::connect::kinesis
