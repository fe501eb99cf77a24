// The Connect emulator writing agent events into kinesalite (started here
// on 127.0.0.1), read back with GetShardIterator/GetRecords.
#include "support.hpp"

#include "emulators/connect/util.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <regex>
#include <set>

namespace emu = presync::connect_emulator;
using emu::testing::child_process;
using emu::testing::control;
using emu::testing::response;

namespace {

constexpr const char* agent1 = "11111111-1111-4111-8111-000000000001";
constexpr const char* agent_arn =
  "arn:aws:connect:us-east-1:111122223333:instance/"
  "00000000-0000-0000-0000-0000000000aa/agent/"
  "11111111-1111-4111-8111-000000000001";
const emu::sigv4::credentials creds{"AKIDTEST", "test-secret", {}};

std::string kinesalite_script() {
  return std::string(PRESYNC_TEST_DATA_DIR) +
         "/../emulators/kinesis/kinesalite.js";
}

std::set<std::string> keys_of(simdjson::dom::element obj) {
  std::set<std::string> out;
  for (auto field : obj.get_object()) {
    out.emplace(field.key);
  }
  return out;
}

class KinesisTest : public ::testing::Test {
 protected:
  void SetUp() override {
    kinesis_ = std::make_unique<child_process>(
      std::vector<std::string>{"node", kinesalite_script(), "0"});
    ASSERT_GT(kinesis_->port(), 0)
      << "kinesalite did not start: " << kinesis_->first_line();
  }

  response kinesis(const std::string& op, const std::string& body) {
    auto req = emu::testing::make_request(kinesis_->port(), "POST", "/", body,
                                          "application/x-amz-json-1.1");
    req.headers.emplace_back("X-Amz-Target", "Kinesis_20131202." + op);
    return emu::testing::send_signed(kinesis_->port(), req, creds, "kinesis",
                                     emu::system_now_ms());
  }

  simdjson::dom::element parse(const std::string& text) {
    docs_.emplace_back(std::make_unique<simdjson::dom::parser>());
    return docs_.back()->parse(text).value();
  }

  // Waits (bounded by request count, no sleeps) for the stream to be ACTIVE.
  bool stream_active(const std::string& name) {
    for (int i = 0; i < 500; ++i) {
      const response r =
        kinesis("DescribeStreamSummary", R"({"StreamName":")" + name + "\"}");
      if (r.status == 200 && r.body.find("\"ACTIVE\"") != std::string::npos) {
        return true;
      }
    }
    return false;
  }

  // Reads every record of a shard from TRIM_HORIZON; returns the last reply.
  std::vector<simdjson::dom::element> read_shard(const std::string& stream,
                                                 const std::string& shard,
                                                 simdjson::dom::element& last) {
    std::vector<simdjson::dom::element> records;
    const response it = kinesis(
      "GetShardIterator", R"({"StreamName":")" + stream + R"(","ShardId":")" +
                            shard + R"(","ShardIteratorType":"TRIM_HORIZON"})");
    EXPECT_EQ(it.status, 200) << it.body;
    std::string iterator =
      std::string(parse(it.body)["ShardIterator"].get_string().value());
    for (int round = 0; round < 5 && !iterator.empty(); ++round) {
      const response got =
        kinesis("GetRecords",
                R"({"ShardIterator":")" + iterator + R"(","Limit":1000})");
      EXPECT_EQ(got.status, 200) << got.body;
      last = parse(got.body);
      for (auto r : last["Records"].get_array()) {
        records.push_back(r);
      }
      std::string_view next;
      iterator = last["NextShardIterator"].get_string().get(next)
                   ? ""
                   : std::string(next);
      if (last["Records"].get_array().size() == 0) {
        break;
      }
    }
    return records;
  }

  std::unique_ptr<child_process> kinesis_;
  std::vector<std::unique_ptr<simdjson::dom::parser>> docs_;
};

} // namespace

TEST_F(KinesisTest, AgentDayArrivesInOrderWithDocumentedShape) {
  child_process emulator{std::vector<std::string>{
    emu::testing::bin_path("presync-connect-emulator"), "--agents", "3",
    "--access-key-id", creds.access_key_id, "--secret-access-key",
    creds.secret_access_key, "--kinesis-endpoint",
    "http://127.0.0.1:" + std::to_string(kinesis_->port()), "--stream",
    "agent-events-test", "--no-heartbeats"}};
  ASSERT_GT(emulator.port(), 0) << emulator.first_line();
  const int port = emulator.port();

  // login -> ringing -> connected -> ACW -> available again.
  const std::string base = std::string("/_control/agents/") + agent1;
  ASSERT_EQ(control(port, "POST", base + "/login").status, 200);
  const response offer = control(port, "POST", base + "/contacts");
  ASSERT_EQ(offer.status, 200) << offer.body;
  const std::string cid =
    std::string(parse(offer.body)["contact_id"].get_string().value());
  for (const char* step : {"connect", "end", "clear"}) {
    ASSERT_EQ(
      control(port, "POST", base + "/contacts/" + cid + "/" + step).status, 200)
      << step;
  }

  const response shards =
    kinesis("ListShards", R"({"StreamName":"agent-events-test"})");
  ASSERT_EQ(shards.status, 200) << shards.body;
  const std::string shard = std::string(
    parse(shards.body)["Shards"].at(0)["ShardId"].get_string().value());
  simdjson::dom::element last;
  const auto records = read_shard("agent-events-test", shard, last);
  ASSERT_EQ(records.size(), 6u);

  simdjson::dom::parser fixture_parser;
  const std::string fixtures =
    std::string(PRESYNC_SHARED_DIR) + "/fixtures/connect/";
  simdjson::dom::element connected =
    fixture_parser.load(fixtures + "agent-event-contact-connected.json");
  const std::set<std::string> change_keys = keys_of(connected);
  const std::set<std::string> snapshot_keys =
    keys_of(connected["CurrentAgentSnapshot"]);
  const std::set<std::string> contact_keys =
    keys_of(connected["CurrentAgentSnapshot"]["Contacts"].at(0));
  std::set<std::string> login_keys = change_keys;
  login_keys.erase("PreviousAgentSnapshot");

  const std::vector<std::string> types = {"LOGIN",        "STATE_CHANGE",
                                          "STATE_CHANGE", "STATE_CHANGE",
                                          "STATE_CHANGE", "STATE_CHANGE"};
  const std::vector<std::string> states = {"",          "",      "CONNECTING",
                                           "CONNECTED", "ENDED", ""};
  const std::vector<std::string> status_names = {
    "Offline", "Available", "Available", "Available", "Available", "Available"};
  const std::regex uuid{
    "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"};
  const std::regex iso{R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)"};
  std::vector<std::unique_ptr<simdjson::dom::parser>> parsers;
  std::string previous_ts;
  std::set<std::string> ids;
  for (std::size_t i = 0; i < records.size(); ++i) {
    SCOPED_TRACE("record " + std::to_string(i));
    EXPECT_EQ(records[i]["PartitionKey"].get_string().value(), agent_arn);
    const auto data =
      emu::base64_decode(records[i]["Data"].get_string().value());
    ASSERT_TRUE(data);
    parsers.push_back(std::make_unique<simdjson::dom::parser>());
    simdjson::dom::element e = parsers.back()->parse(*data).value();

    EXPECT_EQ(keys_of(e), i == 0 ? login_keys : change_keys);
    EXPECT_EQ(e["EventType"].get_string().value(), types[i]);
    EXPECT_EQ(e["AgentARN"].get_string().value(), agent_arn);
    EXPECT_EQ(e["AWSAccountId"].get_string().value(), "111122223333");
    EXPECT_EQ(e["Version"].get_string().value(), "2019-05-25");
    const std::string id(e["EventId"].get_string().value());
    EXPECT_TRUE(std::regex_match(id, uuid)) << id;
    EXPECT_TRUE(ids.insert(id).second);
    const std::string ts(e["EventTimestamp"].get_string().value());
    EXPECT_TRUE(std::regex_match(ts, iso)) << ts;
    EXPECT_GE(ts, previous_ts);
    previous_ts = ts;

    simdjson::dom::element snap = e["CurrentAgentSnapshot"];
    for (const auto& k : snapshot_keys) {
      EXPECT_NE(snap[k].error(), simdjson::NO_SUCH_FIELD) << k;
    }
    EXPECT_EQ(snap["AgentStatus"]["Name"].get_string().value(),
              status_names[i]);
    auto contacts = snap["Contacts"].get_array().value();
    if (states[i].empty()) {
      EXPECT_EQ(contacts.size(), 0u);
    } else {
      ASSERT_EQ(contacts.size(), 1u);
      simdjson::dom::element c = contacts.at(0);
      for (const auto& k : contact_keys) {
        EXPECT_NE(c[k].error(), simdjson::NO_SUCH_FIELD) << k;
      }
      EXPECT_EQ(c["State"].get_string().value(), states[i]);
      EXPECT_EQ(c["ContactId"].get_string().value(), cid);
      EXPECT_EQ(c["Channel"].get_string().value(), "VOICE");
    }
  }

  auto counters = parse(control(port, "GET", "/_control/counters").body);
  EXPECT_EQ(counters["events"]["delivered"].get_int64().value(), 6);
  EXPECT_EQ(counters["events"]["put_failures"].get_int64().value(), 0);
}

TEST_F(KinesisTest, KinesaliteEndsClosedParentShardWithoutChildShards) {
  ASSERT_EQ(
    kinesis("CreateStream", R"({"StreamName":"split-check","ShardCount":1})")
      .status,
    200);
  ASSERT_TRUE(stream_active("split-check"));
  ASSERT_EQ(kinesis("PutRecord", R"({"StreamName":"split-check",)"
                                 R"("PartitionKey":"k","Data":"aGk="})")
              .status,
            200);
  ASSERT_EQ(
    kinesis(
      "SplitShard",
      R"({"StreamName":"split-check",)"
      R"("ShardToSplit":"shardId-000000000000",)"
      R"("NewStartingHashKey":"170141183460469231731687303715884105728"})")
      .status,
    200);
  ASSERT_TRUE(stream_active("split-check"));

  const response shards =
    kinesis("ListShards", R"({"StreamName":"split-check"})");
  auto list = parse(shards.body)["Shards"].get_array().value();
  ASSERT_EQ(list.size(), 3u);
  EXPECT_NE(list.at(0)["SequenceNumberRange"]["EndingSequenceNumber"].error(),
            simdjson::NO_SUCH_FIELD);
  EXPECT_EQ(list.at(1)["ParentShardId"].get_string().value(),
            "shardId-000000000000");

  simdjson::dom::element last;
  const auto records = read_shard("split-check", "shardId-000000000000", last);
  ASSERT_EQ(records.size(), 1u);
  // The end of the closed parent: no next iterator, and (unlike AWS) no
  // ChildShards field.
  EXPECT_EQ(last["NextShardIterator"].error(), simdjson::NO_SUCH_FIELD);
  EXPECT_EQ(last["ChildShards"].error(), simdjson::NO_SUCH_FIELD);
}

TEST_F(KinesisTest, EventsStayInMemoryWhenKinesisIsGone) {
  child_process emulator{std::vector<std::string>{
    emu::testing::bin_path("presync-connect-emulator"), "--agents", "1",
    "--kinesis-endpoint",
    "http://127.0.0.1:" + std::to_string(kinesis_->port()), "--stream",
    "agent-events-gone", "--no-heartbeats"}};
  ASSERT_GT(emulator.port(), 0) << emulator.first_line();
  ASSERT_NE(kinesis_->stop(), -1) << "kinesalite did not stop";

  const std::string base = std::string("/_control/agents/") + agent1;
  ASSERT_EQ(control(emulator.port(), "POST", base + "/login").status, 200);
  auto counters =
    parse(control(emulator.port(), "GET", "/_control/counters").body);
  EXPECT_EQ(counters["events"]["total"].get_int64().value(), 2);
  EXPECT_EQ(counters["events"]["delivered"].get_int64().value(), 0);
  EXPECT_GE(counters["events"]["put_failures"].get_int64().value(), 1);
  EXPECT_FALSE(counters["events"]["last_error"].get_string().value().empty());
  auto events =
    parse(control(emulator.port(), "GET", "/_control/events").body)["events"];
  EXPECT_EQ(events.get_array().size(), 2u);
}
