// The Kinesis consumer against an in-process fake stream: ordering across a
// reshard, checkpoints, expired iterators, throttling and the call rate.
#include "adapters/connect/kinesis_consumer.hpp"

#include "adapters/aws/base64.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <deque>
#include <map>
#include <string>
#include <vector>

namespace pc = presync::connect;
using presync::mono_time;
using namespace std::chrono_literals;

namespace {

constexpr const char* instance_arn =
  "arn:aws:connect:us-east-1:111122223333:instance/i-1";

/// Returns a minimal agent event of `user` in status `status`.
std::string event(const std::string& user, const std::string& id, int seconds,
                  const std::string& status) {
  const std::string ts =
    "2025-03-04T15:00:" + std::string(seconds < 10 ? "0" : "") +
    std::to_string(seconds) + ".000Z";
  return std::string(R"({"AWSAccountId":"111122223333","AgentARN":")") +
         instance_arn + "/agent/" + user + R"(","EventId":")" + id +
         R"(","EventTimestamp":")" + ts +
         R"(","EventType":"STATE_CHANGE","InstanceARN":")" + instance_arn +
         R"(","Version":"2019-05-25","CurrentAgentSnapshot":{)" +
         R"("AgentStatus":{"ARN":"arn:s","Name":")" + status +
         R"(","StartTimestamp":")" + ts +
         R"(","Type":"CUSTOM"},"Configuration":{"Username":"u"},)" +
         R"("Contacts":[]}})";
}

/// One fake shard: records and whether it is closed.
struct fake_shard {
  std::string id;
  std::string parent;
  std::vector<std::string> data;
  bool closed = false;
  int first_sequence = 100;
  int64_t millis_behind = 0; ///< MillisBehindLatest of every answer
};

/// An error the fake answers the next call of `op` with.
struct injected {
  std::string op;
  std::string type;
  int status = 400;
};

/// A Kinesis stream in memory. Iterators are "shard|position".
class fake_stream {
 public:
  std::vector<fake_shard> shards;
  std::deque<injected> errors;
  std::vector<std::string> iterator_requests; ///< type[:sequence] per call
  int get_records_calls = 0;

  pc::kinesis_call call() {
    return [this](const pc::kinesis::request& r) {
      return answer(r);
    };
  }

 private:
  presync::expected<pc::kinesis_reply> answer(const pc::kinesis::request& r) {
    if (!errors.empty() && errors.front().op == r.operation) {
      auto e = errors.front();
      errors.pop_front();
      if (r.operation == "GetRecords") {
        ++get_records_calls;
      }
      return pc::kinesis_reply{
        e.status, {}, R"({"__type":")" + e.type + R"(","message":"injected"})"};
    }
    simdjson::dom::element in = parser_.parse(r.body).value();
    if (r.operation == "ListShards") {
      return ok(list());
    }
    if (r.operation == "GetShardIterator") {
      return ok(iterator(in));
    }
    ++get_records_calls;
    return ok(records(in));
  }

  static pc::kinesis_reply ok(std::string body) {
    return pc::kinesis_reply{200, {}, std::move(body)};
  }

  fake_shard& find(std::string_view id) {
    for (auto& s : shards) {
      if (s.id == id) {
        return s;
      }
    }
    ADD_FAILURE() << "no shard " << id;
    return shards.front();
  }

  std::string list() {
    std::string out = R"({"Shards":[)";
    for (size_t i = 0; i < shards.size(); ++i) {
      const auto& s = shards[i];
      out += i == 0 ? "" : ",";
      out += R"({"ShardId":")" + s.id + "\"";
      if (!s.parent.empty()) {
        out += R"(,"ParentShardId":")" + s.parent + "\"";
      }
      out += R"(,"HashKeyRange":{"StartingHashKey":"0",)"
             R"("EndingHashKey":"1"},"SequenceNumberRange":{)"
             R"("StartingSequenceNumber":")" +
             std::to_string(s.first_sequence) + "\"";
      if (s.closed) {
        out += R"(,"EndingSequenceNumber":")" +
               std::to_string(s.first_sequence + 1000) + "\"";
      }
      out += "}}";
    }
    return out + "]}";
  }

  std::string iterator(simdjson::dom::element in) {
    const std::string id(in["ShardId"].get_string().value());
    const std::string type(in["ShardIteratorType"].get_string().value());
    auto& s = find(id);
    size_t pos = 0;
    std::string_view seq;
    if (!in["StartingSequenceNumber"].get_string().get(seq)) {
      iterator_requests.push_back(type + ":" + std::string(seq));
      const long after = type == "AFTER_SEQUENCE_NUMBER" ? 1 : 0;
      pos = static_cast<size_t>(std::stol(std::string(seq)) - s.first_sequence +
                                after);
    } else {
      iterator_requests.push_back(type);
      pos = type == "LATEST" ? s.data.size() : 0;
    }
    return R"({"ShardIterator":")" + id + "|" + std::to_string(pos) + "\"}";
  }

  std::string records(simdjson::dom::element in) {
    const std::string it(in["ShardIterator"].get_string().value());
    const auto bar = it.find('|');
    auto& s = find(it.substr(0, bar));
    size_t pos = std::stoul(it.substr(bar + 1));
    const auto limit = static_cast<size_t>(in["Limit"].get_int64().value());
    std::string out = R"({"Records":[)";
    size_t n = 0;
    for (; pos < s.data.size() && n < limit; ++pos, ++n) {
      out += n == 0 ? "" : ",";
      out += R"({"SequenceNumber":")" +
             std::to_string(s.first_sequence + static_cast<int>(pos)) +
             R"(","ApproximateArrivalTimestamp":1741100000.5,"Data":")" +
             presync::aws::base64_encode(s.data[pos]) +
             R"(","PartitionKey":"k"})";
    }
    out += "],";
    if (s.closed && pos >= s.data.size()) {
      out += R"("NextShardIterator":null)";
    } else {
      out +=
        R"("NextShardIterator":")" + s.id + "|" + std::to_string(pos) + "\"";
    }
    return out + R"(,"MillisBehindLatest":)" + std::to_string(s.millis_behind) +
           "}";
  }

  simdjson::dom::parser parser_;
};

struct delivered {
  std::string person;
  std::string state;
  std::string event_id;
};

class KinesisConsumerTest : public ::testing::Test {
 protected:
  pc::kinesis_consumer make(pc::consumer_config cfg = {}) {
    cfg.stream_name = "s";
    return pc::kinesis_consumer{
      stream_.call(),
      cfg,
      {{"u1", "alice"}, {"u2", "bob"}},
      store_,
      [this](const presync::actors::connect_change& c,
             const pc::agent_event& e) {
        // A checkpoint is never ahead of what was handed over.
        out_.push_back({c.person, c.state, e.event_id});
        checkpoints_seen_.push_back(store_.all());
      }};
  }

  std::vector<std::string> ids() const {
    std::vector<std::string> v;
    for (const auto& d : out_) {
      v.push_back(d.event_id);
    }
    return v;
  }

  fake_stream stream_;
  pc::memory_checkpoint_store store_;
  std::vector<delivered> out_;
  std::vector<std::map<std::string, std::string>> checkpoints_seen_;
};

} // namespace

TEST_F(KinesisConsumerTest, MalformedRecordIsCountedAndSkipped) {
  stream_.shards = {{"sh-0",
                     "",
                     {event("u1", "e1", 1, "Lunch"), "{not json",
                      event("u2", "e2", 2, "Break")}}};
  pc::consumer_config cfg;
  cfg.start = pc::kinesis::iterator_type::trim_horizon;
  auto c = make(cfg);
  c.poll(mono_time{});

  ASSERT_EQ(out_.size(), 2u);
  EXPECT_EQ(out_[0].person, "alice");
  EXPECT_EQ(out_[0].state, "Lunch");
  EXPECT_EQ(out_[1].person, "bob");
  EXPECT_EQ(out_[1].state, "Break");
  EXPECT_EQ(c.stats().malformed, 1u);
  EXPECT_EQ(c.stats().records, 3u);
  EXPECT_EQ(store_.get("sh-0"), std::optional<std::string>{"102"});
  // While the batch was handed over, no checkpoint had been written yet.
  EXPECT_TRUE(checkpoints_seen_[1].empty());
}

TEST_F(KinesisConsumerTest, AnswerEndsAfterItsEventsAndBeforeItsCheckpoint) {
  stream_.shards = {
    {"sh-0",
     "",
     {event("u1", "e1", 1, "Lunch"), event("u2", "e2", 2, "Break")}}};
  pc::consumer_config cfg;
  cfg.start = pc::kinesis::iterator_type::trim_horizon;
  auto c = make(cfg);
  std::vector<size_t> delivered_at_end;
  std::vector<bool> checkpoint_at_end;
  c.set_handed_over([&] {
    delivered_at_end.push_back(out_.size());
    checkpoint_at_end.push_back(store_.get("sh-0").has_value());
  });

  c.poll(mono_time{});

  EXPECT_EQ(delivered_at_end, std::vector<size_t>{2});
  EXPECT_EQ(checkpoint_at_end, std::vector<bool>{false});
  EXPECT_EQ(store_.get("sh-0"), std::optional<std::string>{"101"});
}

TEST_F(KinesisConsumerTest, ParentShardIsFinishedBeforeItsChild) {
  stream_.shards = {
    {"sh-0",
     "",
     {event("u1", "p1", 1, "Lunch"), event("u1", "p2", 2, "Break")},
     true},
    {"sh-1", "sh-0", {event("u1", "c1", 3, "Training")}, false, 5000}};
  store_.put("sh-0", "99");
  pc::consumer_config cfg;
  cfg.start = pc::kinesis::iterator_type::latest;
  cfg.limit = 1;
  auto c = make(cfg);

  // The child waits while the parent still has records.
  mono_time now = c.poll(mono_time{});
  EXPECT_EQ(ids(), std::vector<std::string>{"p1"});
  EXPECT_EQ(c.active_shards(), std::vector<std::string>{"sh-0"});
  for (int i = 0; i < 20 && out_.size() < 3; ++i) {
    now = std::max(now, c.poll(now));
  }

  // The parent resumed at its checkpoint; the child starts at its start,
  // not at LATEST, so nothing between the two is lost.
  EXPECT_EQ(ids(), (std::vector<std::string>{"p1", "p2", "c1"}));
  EXPECT_EQ(
    stream_.iterator_requests,
    (std::vector<std::string>{"AFTER_SEQUENCE_NUMBER:99", "TRIM_HORIZON"}));
  EXPECT_EQ(c.finished_shards(), std::set<std::string>{"sh-0"});
  EXPECT_EQ(store_.get("sh-1"), std::optional<std::string>{"5000"});
}

TEST_F(KinesisConsumerTest, ExpiredIteratorIsReacquiredFromTheCheckpoint) {
  stream_.shards = {
    {"sh-0",
     "",
     {event("u1", "e1", 1, "Lunch"), event("u1", "e2", 2, "Break")}}};
  pc::consumer_config cfg;
  cfg.start = pc::kinesis::iterator_type::trim_horizon;
  cfg.limit = 1;
  auto c = make(cfg);
  mono_time now = c.poll(mono_time{});
  ASSERT_EQ(ids(), std::vector<std::string>{"e1"});

  stream_.errors.push_back({"GetRecords", "ExpiredIteratorException"});
  for (int i = 0; i < 5 && out_.size() < 2; ++i) {
    now = std::max(now, c.poll(now));
  }
  EXPECT_EQ(ids(), (std::vector<std::string>{"e1", "e2"}));
  EXPECT_EQ(c.stats().expired_iterators, 1u);
  EXPECT_EQ(
    stream_.iterator_requests,
    (std::vector<std::string>{"TRIM_HORIZON", "AFTER_SEQUENCE_NUMBER:100"}));
}

TEST_F(KinesisConsumerTest, ThrottledReaderBacksOffBeforeTheNextCall) {
  stream_.shards = {{"sh-0", "", {event("u1", "e1", 1, "Lunch")}}};
  stream_.errors.push_back(
    {"GetRecords", "ProvisionedThroughputExceededException"});
  pc::consumer_config cfg;
  cfg.start = pc::kinesis::iterator_type::trim_horizon;
  cfg.backoff = 800ms;
  auto c = make(cfg);

  const mono_time next = c.poll(mono_time{});
  EXPECT_EQ(next, mono_time{800ms});
  EXPECT_EQ(c.stats().throttled, 1u);
  c.poll(mono_time{500ms});
  EXPECT_EQ(stream_.get_records_calls, 1);
  c.poll(mono_time{800ms});
  EXPECT_EQ(stream_.get_records_calls, 2);
  EXPECT_EQ(ids(), std::vector<std::string>{"e1"});
}

TEST_F(KinesisConsumerTest, ReaderMakesAtMostFiveCallsPerSecondPerShard) {
  stream_.shards = {{"sh-0", "", {}}};
  auto c = make();
  for (int ms = 0; ms < 1000; ms += 10) {
    c.poll(mono_time{std::chrono::milliseconds{ms}});
  }
  EXPECT_EQ(stream_.get_records_calls, 5);
  EXPECT_EQ(stream_.iterator_requests, std::vector<std::string>{"LATEST"});
}

TEST_F(KinesisConsumerTest, EventsOfUnmappedAgentsAreCountedNotSent) {
  stream_.shards = {{"sh-0", "", {event("u9", "e1", 1, "Lunch")}}};
  pc::consumer_config cfg;
  cfg.start = pc::kinesis::iterator_type::trim_horizon;
  auto c = make(cfg);
  c.poll(mono_time{});
  EXPECT_TRUE(out_.empty());
  EXPECT_EQ(c.stats().unmapped, 1u);
  EXPECT_EQ(store_.get("sh-0"), std::optional<std::string>{"100"});
}

TEST_F(KinesisConsumerTest, LagIsTheLargestMillisBehindLatestOfTheShards) {
  stream_.shards = {{"sh-0", "", {}, false, 100, 1500},
                    {"sh-1", "", {}, false, 5000, 4000}};
  auto c = make();

  c.poll(mono_time{});

  EXPECT_EQ(stream_.get_records_calls, 2);
  EXPECT_EQ(c.stats().millis_behind_latest, 4000);
}

TEST_F(KinesisConsumerTest, LagFallsWhenTheConsumerCatchesUp) {
  stream_.shards = {{"sh-0", "", {}, false, 100, 4000}};
  auto c = make();
  mono_time next = c.poll(mono_time{});
  ASSERT_EQ(c.stats().millis_behind_latest, 4000);

  stream_.shards[0].millis_behind = 0;
  c.poll(next);

  EXPECT_EQ(stream_.get_records_calls, 2);
  EXPECT_EQ(c.stats().millis_behind_latest, 0);
}

// A listing that fails after a shard closed (throttled during a reshard)
// is tried again after a back-off, not on every poll.
TEST_F(KinesisConsumerTest, FailedListingAfterAReshardBacksOff) {
  stream_.shards = {{"sh-0", "", {event("u1", "p1", 1, "Lunch")}, true}};
  pc::consumer_config cfg;
  cfg.start = pc::kinesis::iterator_type::trim_horizon;
  cfg.backoff = 800ms;
  auto c = make(cfg);
  mono_time now = c.poll(mono_time{});
  ASSERT_EQ(c.finished_shards(), std::set<std::string>{"sh-0"});
  ASSERT_EQ(now, mono_time{});
  stream_.shards.push_back({"sh-1", "sh-0", {event("u1", "c1", 2, "Break")}});

  // The listing that would show the child is throttled twice.
  stream_.errors.push_back({"ListShards", "LimitExceededException"});
  stream_.errors.push_back({"ListShards", "LimitExceededException"});
  now = c.poll(now);
  EXPECT_EQ(now, mono_time{800ms});
  EXPECT_EQ(c.stats().list_failures, 1u);
  now = c.poll(now);
  EXPECT_EQ(now, mono_time{2400ms});
  EXPECT_EQ(c.stats().list_failures, 2u);

  // The third listing works and the child is read.
  for (int i = 0; i < 5 && out_.size() < 2; ++i) {
    now = std::max(now, c.poll(now));
  }
  EXPECT_EQ(ids(), (std::vector<std::string>{"p1", "c1"}));
  EXPECT_EQ(c.stats().list_failures, 2u);
}
