#include "adapters/connect/kinesis.hpp"

#include "adapters/aws/base64.hpp"
#include "adapters/connect/agent_event.hpp"
#include "fixture.hpp"

#include <gtest/gtest.h>

using namespace presync::connect;
using namespace presync::connect::kinesis;
using presync::sync_error;
using presync::connect::testing::read_fixture;

namespace {

std::string header(const request& r, std::string_view name) {
  for (const auto& h : r.headers) {
    if (h.name == name) {
      return h.value;
    }
  }
  return "(absent)";
}

} // namespace

TEST(KinesisRequests, ListShardsCarriesTargetContentTypeAndBody) {
  list_shards_params p;
  p.stream_name = "connect-agent-events";

  auto r = build_list_shards(p);

  ASSERT_TRUE(r);
  EXPECT_EQ(header(*r, "X-Amz-Target"), "Kinesis_20131202.ListShards");
  EXPECT_EQ(header(*r, "Content-Type"), "application/x-amz-json-1.1");
  EXPECT_EQ(r->body, R"({"StreamName":"connect-agent-events"})");
}

TEST(KinesisRequests, ListShardsLeavesTheStreamOutWithANextToken) {
  list_shards_params p;
  p.stream_name = "s";
  p.next_token = "tok\"1";
  p.max_results = 1000;

  auto r = build_list_shards(p);

  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, R"({"NextToken":"tok\"1","MaxResults":1000})");
}

TEST(KinesisRequests, ListShardsWritesTheShardFilter) {
  list_shards_params p;
  p.stream_arn = "arn:aws:kinesis:us-east-1:111122223333:stream/s";
  p.shard_filter_type = "AT_LATEST";

  auto r = build_list_shards(p);

  ASSERT_TRUE(r);
  EXPECT_EQ(r->body,
            R"({"StreamARN":"arn:aws:kinesis:us-east-1:111122223333:stream/s",)"
            R"("ShardFilter":{"Type":"AT_LATEST"}})");
}

TEST(KinesisRequests, ListShardsRejectsMissingStreamAndBadLimit) {
  list_shards_params none;
  list_shards_params big;
  big.stream_name = "s";
  big.max_results = 10001;

  EXPECT_EQ(build_list_shards(none).err().code, sync_error::rejected);
  EXPECT_FALSE(build_list_shards(big));
}

TEST(KinesisRequests, GetShardIteratorResumesAfterACheckpoint) {
  get_shard_iterator_params p;
  p.stream_name = "connect-agent-events";
  p.shard_id = "shardId-000000000000";
  p.type = iterator_type::after_sequence_number;
  p.starting_sequence_number =
    "49660000000000000000000000000000000000000000000000000002";

  auto r = build_get_shard_iterator(p);

  ASSERT_TRUE(r);
  EXPECT_EQ(header(*r, "X-Amz-Target"), "Kinesis_20131202.GetShardIterator");
  EXPECT_EQ(
    r->body,
    R"({"StreamName":"connect-agent-events","ShardId":"shardId-000000000000",)"
    R"("ShardIteratorType":"AFTER_SEQUENCE_NUMBER",)"
    R"("StartingSequenceNumber":"49660000000000000000000000000000000000000000000000000002"})");
}

TEST(KinesisRequests, GetShardIteratorWritesTimestampsAsEpochSeconds) {
  get_shard_iterator_params p;
  p.stream_name = "s";
  p.shard_id = "shardId-1";
  p.type = iterator_type::at_timestamp;
  p.timestamp_ms = 1741100527011;

  auto r = build_get_shard_iterator(p);

  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, R"({"StreamName":"s","ShardId":"shardId-1",)"
                     R"("ShardIteratorType":"AT_TIMESTAMP",)"
                     R"("Timestamp":1741100527.011})");
}

TEST(KinesisRequests, GetShardIteratorRejectsWhatItsTypeLacks) {
  get_shard_iterator_params p;
  p.stream_name = "s";
  p.shard_id = "shardId-1";
  p.type = iterator_type::at_sequence_number;
  auto no_sequence = build_get_shard_iterator(p);
  p.type = iterator_type::at_timestamp;
  auto no_time = build_get_shard_iterator(p);
  p.type = iterator_type::trim_horizon;
  p.shard_id.clear();
  auto no_shard = build_get_shard_iterator(p);

  EXPECT_EQ(
    no_sequence.err().context,
    "GetShardIterator: AT_SEQUENCE_NUMBER needs StartingSequenceNumber");
  EXPECT_EQ(no_time.err().context,
            "GetShardIterator: AT_TIMESTAMP needs Timestamp");
  EXPECT_EQ(no_shard.err().context, "GetShardIterator: ShardId needed");
}

TEST(KinesisRequests, GetRecordsBodyMatchesTheSignedVector) {
  get_records_params p;
  p.shard_iterator = "AAAAAAAAAAExample";
  p.limit = 1000;

  auto r = build_get_records(p);

  ASSERT_TRUE(r);
  EXPECT_EQ(header(*r, "X-Amz-Target"), "Kinesis_20131202.GetRecords");
  EXPECT_EQ(r->body, R"({"ShardIterator":"AAAAAAAAAAExample","Limit":1000})");
  EXPECT_FALSE(build_get_records({}));
}

TEST(KinesisResponses, ParsesShardsWithParentsRangesAndToken) {
  auto r = parse_list_shards(R"({"Shards":[
    {"ShardId":"shardId-000000000000",
     "HashKeyRange":{"StartingHashKey":"0","EndingHashKey":"340282366920938463463374607431768211455"},
     "SequenceNumberRange":{"StartingSequenceNumber":"100","EndingSequenceNumber":"200"}},
    {"ShardId":"shardId-000000000002","ParentShardId":"shardId-000000000000",
     "AdjacentParentShardId":"shardId-000000000001",
     "HashKeyRange":{"StartingHashKey":"0","EndingHashKey":"9"},
     "SequenceNumberRange":{"StartingSequenceNumber":"300"}}],
    "NextToken":"next-page"})");

  ASSERT_TRUE(r) << r.err().describe();
  ASSERT_EQ(r->shards.size(), 2u);
  EXPECT_EQ(r->shards[0].shard_id, "shardId-000000000000");
  EXPECT_EQ(r->shards[0].ending_hash_key,
            "340282366920938463463374607431768211455");
  EXPECT_TRUE(r->shards[0].closed());
  EXPECT_EQ(r->shards[0].ending_sequence_number, "200");
  EXPECT_FALSE(r->shards[0].parent_shard_id);
  EXPECT_EQ(r->shards[1].parent_shard_id, "shardId-000000000000");
  EXPECT_EQ(r->shards[1].adjacent_parent_shard_id, "shardId-000000000001");
  EXPECT_EQ(r->shards[1].starting_sequence_number, "300");
  EXPECT_FALSE(r->shards[1].closed());
  EXPECT_EQ(r->next_token, "next-page");
}

TEST(KinesisResponses, RejectsAShardWithoutId) {
  auto r = parse_list_shards(R"({"Shards":[{"HashKeyRange":{}}]})");

  ASSERT_FALSE(r);
  EXPECT_EQ(r.err().context, "Shards[0].ShardId: missing");
}

TEST(KinesisResponses, ParsesTheShardIterator) {
  EXPECT_EQ(
    parse_get_shard_iterator(R"({"ShardIterator":"AAAAAAAAAAF1"})").value(),
    "AAAAAAAAAAF1");
  EXPECT_EQ(parse_get_shard_iterator("{}").err().context,
            "ShardIterator: missing");
}

TEST(KinesisResponses, DecodesRecordDataIntoAnAgentEvent) {
  auto event_json = read_fixture("agent-event-heartbeat.json");
  auto body =
    R"({"Records":[{"SequenceNumber":"49660000000000000000000000000000000000000000000000000003",)"
    R"("ApproximateArrivalTimestamp":1741100527.011,"Data":")" +
    presync::aws::base64_encode(event_json) +
    R"(","PartitionKey":"arn:aws:connect:us-east-1:111122223333:instance/x/agent/y",)"
    R"("EncryptionType":"NONE"}],"NextShardIterator":"AAAAAAAAAAG",)"
    R"("MillisBehindLatest":0})";

  auto r = parse_get_records(body);

  ASSERT_TRUE(r) << r.err().describe();
  ASSERT_EQ(r->records.size(), 1u);
  const auto& rec = r->records[0];
  EXPECT_EQ(rec.sequence_number,
            "49660000000000000000000000000000000000000000000000000003");
  EXPECT_EQ(rec.approximate_arrival_ms, 1741100527011);
  EXPECT_EQ(rec.data, event_json);
  EXPECT_EQ(rec.encryption_type, "NONE");
  EXPECT_EQ(r->next_shard_iterator, "AAAAAAAAAAG");
  EXPECT_EQ(r->millis_behind_latest, 0);
  auto event = parse_agent_event(rec.data);
  ASSERT_TRUE(event);
  EXPECT_EQ(event->event_type, agent_event_type::heart_beat);
}

TEST(KinesisResponses, ReadsTheEndOfAClosedShard) {
  auto r = parse_get_records(
    R"({"Records":[],"NextShardIterator":null,"MillisBehindLatest":1500,)"
    R"("ChildShards":[{"ShardId":"shardId-000000000002",)"
    R"("ParentShards":["shardId-000000000000","shardId-000000000001"],)"
    R"("HashKeyRange":{"StartingHashKey":"0","EndingHashKey":"99"}}]})");

  ASSERT_TRUE(r) << r.err().describe();
  EXPECT_TRUE(r->records.empty());
  EXPECT_FALSE(r->next_shard_iterator);
  EXPECT_EQ(r->millis_behind_latest, 1500);
  ASSERT_EQ(r->child_shards.size(), 1u);
  EXPECT_EQ(r->child_shards[0].shard_id, "shardId-000000000002");
  EXPECT_EQ(
    r->child_shards[0].parent_shards,
    (std::vector<std::string>{"shardId-000000000000", "shardId-000000000001"}));
  EXPECT_EQ(r->child_shards[0].ending_hash_key, "99");
}

TEST(KinesisResponses, TreatsAnAbsentNextIteratorAsClosed) {
  auto r = parse_get_records(R"({"Records":[],"MillisBehindLatest":0})");

  ASSERT_TRUE(r);
  EXPECT_FALSE(r->next_shard_iterator);
}

TEST(KinesisResponses, RejectsInvalidBase64NamingTheRecord) {
  auto r = parse_get_records(
    R"({"Records":[{"SequenceNumber":"1","Data":"Zm9v"},)"
    R"({"SequenceNumber":"2","Data":"Zm9v!!=="}],"NextShardIterator":"x"})");

  ASSERT_FALSE(r);
  EXPECT_EQ(r.err().code, sync_error::malformed);
  EXPECT_EQ(r.err().context,
            "Records[1].Data: base64: invalid character at offset 4");
}

TEST(KinesisResponses, RejectsRecordsOfTheWrongShape) {
  EXPECT_EQ(parse_get_records(R"({"Records":{}})").err().context,
            "Records: not an array");
  EXPECT_EQ(parse_get_records(R"({"Records":[{"Data":""}]})").err().context,
            "Records[0].SequenceNumber: missing");
  EXPECT_EQ(parse_get_records(R"({"NextShardIterator":"x"})").err().context,
            "Records: missing");
  EXPECT_FALSE(parse_get_records(R"({"Records":[)"));
}

TEST(KinesisErrors, MapsExpiredIteratorToRejectedWithItsType) {
  auto e = parse_error(
    "GetRecords", 400, {{"x-amzn-RequestId", "req-1"}},
    R"({"__type":"ExpiredIteratorException","message":"Iterator expired"})");

  EXPECT_EQ(e.type, "ExpiredIteratorException");
  EXPECT_EQ(e.message, "Iterator expired");
  EXPECT_EQ(e.err.code, sync_error::rejected);
  EXPECT_EQ(e.err.http_status, 400);
  EXPECT_EQ(e.err.request_id, "req-1");
  EXPECT_EQ(e.err.context, "kinesis GetRecords: ExpiredIteratorException");
}

TEST(KinesisErrors, MapsThroughputExceededToThrottled) {
  auto e = parse_error("GetRecords", 400, {},
                       R"({"__type":"com.amazonaws.kinesis.v20131202#)"
                       R"(ProvisionedThroughputExceededException",)"
                       R"("message":"Rate exceeded for shard"})");

  EXPECT_EQ(e.type, "ProvisionedThroughputExceededException");
  EXPECT_EQ(e.err.code, sync_error::throttled);
}

TEST(KinesisErrors, MapsTheOtherCodes) {
  auto code = [](std::string type, int status) {
    return parse_error("X", status, {}, R"({"__type":")" + type + R"("})")
      .err.code;
  };

  EXPECT_EQ(code("ResourceNotFoundException", 400), sync_error::not_found);
  EXPECT_EQ(code("KMSAccessDeniedException", 400), sync_error::forbidden);
  EXPECT_EQ(code("KMSThrottlingException", 400), sync_error::throttled);
  EXPECT_EQ(code("LimitExceededException", 400), sync_error::throttled);
  EXPECT_EQ(code("InvalidArgumentException", 400), sync_error::rejected);
  EXPECT_EQ(code("InternalFailure", 500), sync_error::unavailable);
  EXPECT_EQ(code("UnrecognizedClientException", 400), sync_error::unauthorized);
}

TEST(KinesisErrors, FallsBackOnTheHttpStatusForAnUnreadableBody) {
  auto e = parse_error("ListShards", 503, {}, "<html>oops</html>");

  EXPECT_EQ(e.type, "");
  EXPECT_EQ(e.err.code, sync_error::unavailable);
  EXPECT_EQ(e.err.context, "kinesis ListShards: HTTP error");
}

TEST(KinesisSequenceNumbers, CompareAsIntegers) {
  EXPECT_LT(compare_sequence_numbers("9", "10"), 0);
  EXPECT_GT(compare_sequence_numbers("4966000000000000000000000000000000000000"
                                     "0000000000000003",
                                     "4966000000000000000000000000000000000000"
                                     "0000000000000002"),
            0);
  EXPECT_EQ(compare_sequence_numbers("123", "123"), 0);
}
