// Test-only: signs requests read as JSON lines on stdin and writes one JSON
// line per request on stdout, for botocore_crosscheck.py. Input fields:
// id, method, path, query, headers ([[name, value], ...]), body_b64,
// access_key_id, secret_access_key, session_token, region, service, time
// (ISO-8601). Output: id, canonical_request, string_to_sign, signature,
// authorization, or id and error.
#include "adapters/aws/base64.hpp"
#include "adapters/aws/json_escape.hpp"
#include "adapters/aws/sigv4.hpp"

#include <simdjson.h>

#include <iostream>
#include <string>

using namespace presync::aws;

namespace {

struct parsed_line {
  std::string id;
  signing_request request;
  credentials creds;
  signing_params params;
};

std::string field_string(simdjson::ondemand::object& obj,
                         std::string_view key) {
  std::string_view text;
  if (obj.find_field_unordered(key).get_string().get(text)) {
    return {};
  }
  return std::string{text};
}

bool parse_line(const std::string& line, parsed_line& out,
                std::string& problem) {
  simdjson::ondemand::parser parser;
  simdjson::padded_string padded{line};
  simdjson::ondemand::document doc;
  simdjson::ondemand::object obj;
  if (parser.iterate(padded).get(doc) || doc.get_object().get(obj)) {
    problem = "not a JSON object";
    return false;
  }
  out.id = field_string(obj, "id");
  out.request.method = field_string(obj, "method");
  out.request.path = field_string(obj, "path");
  out.request.query = field_string(obj, "query");
  simdjson::ondemand::array headers;
  if (obj.find_field_unordered("headers").get_array().get(headers)) {
    problem = "headers: not an array";
    return false;
  }
  for (auto pair : headers) {
    simdjson::ondemand::array nv;
    if (pair.get_array().get(nv)) {
      problem = "headers: item is not an array";
      return false;
    }
    http_header h;
    size_t index = 0;
    for (auto part : nv) {
      std::string_view text;
      if (part.get_string().get(text)) {
        problem = "headers: not a string";
        return false;
      }
      (index++ == 0 ? h.name : h.value).assign(text);
    }
    out.request.headers.push_back(std::move(h));
  }
  auto body = base64_decode(field_string(obj, "body_b64"));
  if (!body) {
    problem = body.err().context;
    return false;
  }
  out.request.body = body.value();
  out.creds.access_key_id = field_string(obj, "access_key_id");
  out.creds.secret_access_key =
    secret_string{field_string(obj, "secret_access_key")};
  out.creds.session_token = secret_string{field_string(obj, "session_token")};
  out.params.region = field_string(obj, "region");
  out.params.service = field_string(obj, "service");
  auto time = parse_iso8601(field_string(obj, "time"));
  if (!time) {
    problem = "time: not ISO-8601";
    return false;
  }
  out.params.time = *time;
  return true;
}

} // namespace

int main() {
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.empty()) {
      continue;
    }
    parsed_line in;
    std::string problem;
    std::string out = "{\"id\":";
    if (!parse_line(line, in, problem)) {
      append_json_string(out, in.id);
      out += ",\"error\":";
      append_json_string(out, problem);
    } else if (auto r = sign_request(in.request, in.creds, in.params); !r) {
      append_json_string(out, in.id);
      out += ",\"error\":";
      append_json_string(out, r.err().describe());
    } else {
      append_json_string(out, in.id);
      out += ",\"canonical_request\":";
      append_json_string(out, r->canonical_request);
      out += ",\"string_to_sign\":";
      append_json_string(out, r->string_to_sign);
      out += ",\"signature\":";
      append_json_string(out, r->signature);
      out += ",\"authorization\":";
      append_json_string(out, r->authorization);
    }
    out += "}";
    std::cout << out << '\n';
  }
  return 0;
}
