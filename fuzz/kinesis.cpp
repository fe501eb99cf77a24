#include "fuzz/targets.hpp"

#include "adapters/connect/agent_event.hpp"
#include "adapters/connect/kinesis.hpp"

#include <vector>

namespace presync::fuzz {

void kinesis(std::string_view data) {
  namespace k = connect::kinesis;

  // The records' data goes on to the agent event parser, as in the
  // consumer.
  if (auto records = k::parse_get_records(data)) {
    for (const auto& r : records->records) {
      (void)connect::parse_agent_event(r.data);
      (void)k::compare_sequence_numbers(r.sequence_number, r.sequence_number);
    }
  }
  if (auto shards = k::parse_list_shards(data)) {
    for (size_t i = 1; i < shards->shards.size(); ++i) {
      (void)k::compare_sequence_numbers(
        shards->shards[i - 1].starting_sequence_number,
        shards->shards[i].starting_sequence_number);
    }
  }
  (void)k::parse_get_shard_iterator(data);

  std::vector<aws::http_header> headers = {{"x-amzn-RequestId", "r-1"}};
  (void)k::parse_error("GetRecords", 400, headers, data);
  (void)k::parse_error("ListShards", 500, headers, data);

  // Sequence numbers are compared as decimals of any length.
  auto half = data.size() / 2;
  (void)k::compare_sequence_numbers(data.substr(0, half), data.substr(half));
}

} // namespace presync::fuzz
