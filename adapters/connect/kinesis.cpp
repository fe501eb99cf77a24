#include "adapters/connect/kinesis.hpp"

#include "adapters/aws/base64.hpp"
#include "adapters/aws/credentials.hpp"
#include "adapters/aws/json_escape.hpp"
#include "adapters/connect/internal/json.hpp"

namespace presync::connect::kinesis {

using namespace internal;
using aws::append_json_string;

namespace {

constexpr std::string_view target_prefix = "Kinesis_20131202.";

request make_request(std::string operation, std::string body) {
  request r;
  r.headers = {
    {"Content-Type", "application/x-amz-json-1.1"},
    {"X-Amz-Target", std::string{target_prefix} + operation},
  };
  r.operation = std::move(operation);
  r.body = std::move(body);
  return r;
}

// Appends ,"key":"value" (or {"key":"value" for the first member).
void add_string(std::string& body, std::string_view key,
                std::string_view value) {
  body += body.size() == 1 ? "" : ",";
  append_json_string(body, key);
  body += ':';
  append_json_string(body, value);
}

void add_number(std::string& body, std::string_view key, int64_t value) {
  body += body.size() == 1 ? "" : ",";
  append_json_string(body, key);
  body += ':';
  body += std::to_string(value);
}

// Formats milliseconds as epoch seconds with three decimals.
std::string epoch_seconds(int64_t ms) {
  auto seconds = ms / 1000;
  auto rest = ms % 1000;
  if (rest < 0) {
    rest += 1000;
    seconds -= 1;
  }
  auto frac = std::to_string(rest);
  return std::to_string(seconds) + "." + std::string(3 - frac.size(), '0') +
         frac;
}

std::optional<error> read_hash_range(json_value& v, const std::string& where,
                                     std::string& start, std::string& end) {
  json_object obj;
  if (v.get_object().get(obj)) {
    return malformed(where, "not an object");
  }
  for (auto field : obj) {
    std::string_view key;
    json_value value;
    if (field.unescaped_key().get(key) || field.value().get(value)) {
      return malformed(where, "invalid JSON");
    }
    if (key == "StartingHashKey") {
      if (auto e = read_string(value, where + ".StartingHashKey", start)) {
        return e;
      }
    } else if (key == "EndingHashKey") {
      if (auto e = read_string(value, where + ".EndingHashKey", end)) {
        return e;
      }
    }
  }
  return std::nullopt;
}

std::optional<error> read_shard(json_value& v, const std::string& where,
                                shard& out) {
  json_object obj;
  if (v.get_object().get(obj)) {
    return malformed(where, "not an object");
  }
  for (auto field : obj) {
    std::string_view key;
    json_value value;
    if (field.unescaped_key().get(key) || field.value().get(value)) {
      return malformed(where, "invalid JSON");
    }
    std::optional<error> e;
    if (key == "ShardId") {
      e = read_string(value, where + ".ShardId", out.shard_id);
    } else if (key == "ParentShardId") {
      e = read_nullable_string(value, where + ".ParentShardId",
                               out.parent_shard_id);
    } else if (key == "AdjacentParentShardId") {
      e = read_nullable_string(value, where + ".AdjacentParentShardId",
                               out.adjacent_parent_shard_id);
    } else if (key == "HashKeyRange") {
      e = read_hash_range(value, where + ".HashKeyRange", out.starting_hash_key,
                          out.ending_hash_key);
    } else if (key == "SequenceNumberRange") {
      json_object range;
      if (value.get_object().get(range)) {
        return malformed(where + ".SequenceNumberRange", "not an object");
      }
      for (auto member : range) {
        std::string_view k;
        json_value mv;
        if (member.unescaped_key().get(k) || member.value().get(mv)) {
          return malformed(where + ".SequenceNumberRange", "invalid JSON");
        }
        if (k == "StartingSequenceNumber") {
          e = read_string(mv,
                          where + ".SequenceNumberRange.StartingSequenceNumber",
                          out.starting_sequence_number);
        } else if (k == "EndingSequenceNumber") {
          e = read_nullable_string(
            mv, where + ".SequenceNumberRange.EndingSequenceNumber",
            out.ending_sequence_number);
        }
        if (e) {
          return e;
        }
      }
    }
    if (e) {
      return e;
    }
  }
  if (out.shard_id.empty()) {
    return malformed(where + ".ShardId", "missing");
  }
  return std::nullopt;
}

std::optional<error> read_record(json_value& v, const std::string& where,
                                 record& out) {
  json_object obj;
  if (v.get_object().get(obj)) {
    return malformed(where, "not an object");
  }
  bool has_data = false;
  for (auto field : obj) {
    std::string_view key;
    json_value value;
    if (field.unescaped_key().get(key) || field.value().get(value)) {
      return malformed(where, "invalid JSON");
    }
    std::optional<error> e;
    if (key == "SequenceNumber") {
      e = read_string(value, where + ".SequenceNumber", out.sequence_number);
    } else if (key == "ApproximateArrivalTimestamp") {
      e = read_epoch_ms(value, where + ".ApproximateArrivalTimestamp",
                        out.approximate_arrival_ms);
    } else if (key == "Data") {
      std::string text;
      e = read_string(value, where + ".Data", text);
      if (!e) {
        auto decoded = aws::base64_decode(text);
        if (!decoded) {
          e = malformed(where + ".Data", decoded.err().context);
        } else {
          out.data = std::move(decoded.value());
        }
      }
      has_data = true;
    } else if (key == "PartitionKey") {
      e = read_string(value, where + ".PartitionKey", out.partition_key);
    } else if (key == "EncryptionType") {
      e = read_string(value, where + ".EncryptionType", out.encryption_type);
    }
    if (e) {
      return e;
    }
  }
  if (out.sequence_number.empty()) {
    return malformed(where + ".SequenceNumber", "missing");
  }
  if (!has_data) {
    return malformed(where + ".Data", "missing");
  }
  return std::nullopt;
}

std::optional<error> read_child_shard(json_value& v, const std::string& where,
                                      child_shard& out) {
  json_object obj;
  if (v.get_object().get(obj)) {
    return malformed(where, "not an object");
  }
  for (auto field : obj) {
    std::string_view key;
    json_value value;
    if (field.unescaped_key().get(key) || field.value().get(value)) {
      return malformed(where, "invalid JSON");
    }
    std::optional<error> e;
    if (key == "ShardId") {
      e = read_string(value, where + ".ShardId", out.shard_id);
    } else if (key == "ParentShards") {
      json_array parents;
      if (value.get_array().get(parents)) {
        return malformed(where + ".ParentShards", "not an array");
      }
      for (auto item : parents) {
        json_value pv;
        std::string id;
        if (item.get(pv)) {
          return malformed(where + ".ParentShards", "invalid JSON");
        }
        if (auto pe = read_string(pv, where + ".ParentShards[]", id)) {
          return pe;
        }
        out.parent_shards.push_back(std::move(id));
      }
    } else if (key == "HashKeyRange") {
      e = read_hash_range(value, where + ".HashKeyRange", out.starting_hash_key,
                          out.ending_hash_key);
    }
    if (e) {
      return e;
    }
  }
  if (out.shard_id.empty()) {
    return malformed(where + ".ShardId", "missing");
  }
  return std::nullopt;
}

} // namespace

std::string_view to_string(iterator_type t) {
  switch (t) {
  case iterator_type::trim_horizon:
    return "TRIM_HORIZON";
  case iterator_type::latest:
    return "LATEST";
  case iterator_type::at_sequence_number:
    return "AT_SEQUENCE_NUMBER";
  case iterator_type::after_sequence_number:
    return "AFTER_SEQUENCE_NUMBER";
  case iterator_type::at_timestamp:
    return "AT_TIMESTAMP";
  }
  return "LATEST";
}

expected<request> build_list_shards(const list_shards_params& p) {
  if (p.stream_name.empty() && p.stream_arn.empty() && p.next_token.empty()) {
    return make_error(sync_error::rejected,
                      "ListShards: StreamName, StreamARN or NextToken needed");
  }
  if (p.max_results && (*p.max_results < 1 || *p.max_results > 10000)) {
    return make_error(sync_error::rejected,
                      "ListShards: MaxResults must be 1 to 10000");
  }
  std::string body = "{";
  if (!p.next_token.empty()) {
    add_string(body, "NextToken", p.next_token);
  } else {
    if (!p.stream_name.empty()) {
      add_string(body, "StreamName", p.stream_name);
    }
    if (!p.stream_arn.empty()) {
      add_string(body, "StreamARN", p.stream_arn);
    }
    if (!p.exclusive_start_shard_id.empty()) {
      add_string(body, "ExclusiveStartShardId", p.exclusive_start_shard_id);
    }
    if (!p.shard_filter_type.empty()) {
      body += body.size() == 1 ? "" : ",";
      body += "\"ShardFilter\":{\"Type\":";
      append_json_string(body, p.shard_filter_type);
      body += '}';
    }
  }
  if (p.max_results) {
    add_number(body, "MaxResults", *p.max_results);
  }
  body += '}';
  return make_request("ListShards", std::move(body));
}

expected<list_shards_result> parse_list_shards(std::string_view body) {
  json_document d;
  json_object root;
  if (auto e = open_object(d, body, "ListShards", root)) {
    return *e;
  }
  list_shards_result out;
  bool has_shards = false;
  for (auto field : root) {
    std::string_view key;
    json_value value;
    if (field.unescaped_key().get(key) || field.value().get(value)) {
      return malformed("ListShards", "invalid JSON");
    }
    if (key == "Shards") {
      has_shards = true;
      json_array shards;
      if (value.get_array().get(shards)) {
        return malformed("Shards", "not an array");
      }
      size_t index = 0;
      for (auto item : shards) {
        auto where = "Shards[" + std::to_string(index++) + "]";
        json_value sv;
        if (item.get(sv)) {
          return malformed(where, "invalid JSON");
        }
        shard s;
        if (auto e = read_shard(sv, where, s)) {
          return *e;
        }
        out.shards.push_back(std::move(s));
      }
    } else if (key == "NextToken") {
      if (auto e = read_nullable_string(value, "NextToken", out.next_token)) {
        return *e;
      }
    }
  }
  if (auto e = check_end(d, "ListShards")) {
    return *e;
  }
  if (!has_shards) {
    return malformed("Shards", "missing");
  }
  return out;
}

expected<request> build_get_shard_iterator(const get_shard_iterator_params& p) {
  if (p.stream_name.empty() && p.stream_arn.empty()) {
    return make_error(sync_error::rejected,
                      "GetShardIterator: StreamName or StreamARN needed");
  }
  if (p.shard_id.empty()) {
    return make_error(sync_error::rejected, "GetShardIterator: ShardId needed");
  }
  bool needs_sequence = p.type == iterator_type::at_sequence_number ||
                        p.type == iterator_type::after_sequence_number;
  if (needs_sequence && p.starting_sequence_number.empty()) {
    return make_error(sync_error::rejected,
                      "GetShardIterator: " + std::string{to_string(p.type)} +
                        " needs StartingSequenceNumber");
  }
  if (p.type == iterator_type::at_timestamp && !p.timestamp_ms) {
    return make_error(sync_error::rejected,
                      "GetShardIterator: AT_TIMESTAMP needs Timestamp");
  }

  std::string body = "{";
  if (!p.stream_name.empty()) {
    add_string(body, "StreamName", p.stream_name);
  }
  if (!p.stream_arn.empty()) {
    add_string(body, "StreamARN", p.stream_arn);
  }
  add_string(body, "ShardId", p.shard_id);
  add_string(body, "ShardIteratorType", to_string(p.type));
  if (needs_sequence) {
    add_string(body, "StartingSequenceNumber", p.starting_sequence_number);
  }
  if (p.type == iterator_type::at_timestamp) {
    body += ",\"Timestamp\":" + epoch_seconds(*p.timestamp_ms);
  }
  body += '}';
  return make_request("GetShardIterator", std::move(body));
}

expected<std::string> parse_get_shard_iterator(std::string_view body) {
  json_document d;
  json_object root;
  if (auto e = open_object(d, body, "GetShardIterator", root)) {
    return *e;
  }
  std::optional<std::string> iterator;
  for (auto field : root) {
    std::string_view key;
    json_value value;
    if (field.unescaped_key().get(key) || field.value().get(value)) {
      return malformed("GetShardIterator", "invalid JSON");
    }
    if (key == "ShardIterator") {
      if (auto e = read_nullable_string(value, "ShardIterator", iterator)) {
        return *e;
      }
    }
  }
  if (auto e = check_end(d, "GetShardIterator")) {
    return *e;
  }
  if (!iterator || iterator->empty()) {
    return malformed("ShardIterator", "missing");
  }
  return *iterator;
}

expected<request> build_get_records(const get_records_params& p) {
  if (p.shard_iterator.empty()) {
    return make_error(sync_error::rejected, "GetRecords: ShardIterator needed");
  }
  if (p.limit && (*p.limit < 1 || *p.limit > 10000)) {
    return make_error(sync_error::rejected,
                      "GetRecords: Limit must be 1 to 10000");
  }
  std::string body = "{";
  add_string(body, "ShardIterator", p.shard_iterator);
  if (p.limit) {
    add_number(body, "Limit", *p.limit);
  }
  if (!p.stream_arn.empty()) {
    add_string(body, "StreamARN", p.stream_arn);
  }
  body += '}';
  return make_request("GetRecords", std::move(body));
}

expected<get_records_result> parse_get_records(std::string_view body) {
  json_document d;
  json_object root;
  if (auto e = open_object(d, body, "GetRecords", root)) {
    return *e;
  }
  get_records_result out;
  bool has_records = false;
  for (auto field : root) {
    std::string_view key;
    json_value value;
    if (field.unescaped_key().get(key) || field.value().get(value)) {
      return malformed("GetRecords", "invalid JSON");
    }
    std::optional<error> e;
    if (key == "Records") {
      has_records = true;
      json_array records;
      if (value.get_array().get(records)) {
        return malformed("Records", "not an array");
      }
      size_t index = 0;
      for (auto item : records) {
        auto where = "Records[" + std::to_string(index++) + "]";
        json_value rv;
        if (item.get(rv)) {
          return malformed(where, "invalid JSON");
        }
        record r;
        if (auto re = read_record(rv, where, r)) {
          return *re;
        }
        out.records.push_back(std::move(r));
      }
    } else if (key == "NextShardIterator") {
      e = read_nullable_string(value, "NextShardIterator",
                               out.next_shard_iterator);
    } else if (key == "MillisBehindLatest") {
      e = read_int64(value, "MillisBehindLatest", out.millis_behind_latest);
    } else if (key == "ChildShards") {
      json_array children;
      if (value.get_array().get(children)) {
        return malformed("ChildShards", "not an array");
      }
      size_t index = 0;
      for (auto item : children) {
        auto where = "ChildShards[" + std::to_string(index++) + "]";
        json_value cv;
        if (item.get(cv)) {
          return malformed(where, "invalid JSON");
        }
        child_shard c;
        if (auto ce = read_child_shard(cv, where, c)) {
          return *ce;
        }
        out.child_shards.push_back(std::move(c));
      }
    }
    if (e) {
      return *e;
    }
  }
  if (auto e = check_end(d, "GetRecords")) {
    return *e;
  }
  if (!has_records) {
    return malformed("Records", "missing");
  }
  return out;
}

service_error parse_error(std::string_view operation, int http_status,
                          const std::vector<aws::http_header>& headers,
                          std::string_view body) {
  service_error out;

  // The body names the error; some front ends put it in a header instead.
  json_document d;
  json_object root;
  if (!open_object(d, body, operation, root)) {
    for (auto field : root) {
      std::string_view key;
      json_value value;
      if (field.unescaped_key().get(key) || field.value().get(value)) {
        break;
      }
      std::string text;
      if (key == "__type" && !read_string(value, key, text)) {
        out.type = normalize_error_type(text);
      } else if ((key == "message" || key == "Message") &&
                 !read_string(value, key, text)) {
        out.message = text;
      }
    }
  }
  if (out.type.empty()) {
    if (auto h = aws::find_header(headers, "x-amzn-ErrorType")) {
      out.type = normalize_error_type(*h);
    }
  }

  auto code = classify_service_error(out.type, http_status);
  std::string context = "kinesis " + std::string{operation};
  context += out.type.empty() ? ": HTTP error" : ": " + out.type;
  out.err = make_error(code, std::move(context), http_status);
  if (auto id = aws::find_header(headers, "x-amzn-RequestId")) {
    out.err.request_id = std::string{*id};
  }
  return out;
}

int compare_sequence_numbers(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return a.size() < b.size() ? -1 : 1;
  }
  return a.compare(b) < 0 ? -1 : (a == b ? 0 : 1);
}

} // namespace presync::connect::kinesis
