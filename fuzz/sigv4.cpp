#include "fuzz/targets.hpp"

#include "adapters/aws/sigv4.hpp"

#include <chrono>

namespace presync::fuzz {

namespace {

/// Splits off the first line (without its CR LF or LF).
std::string_view next_line(std::string_view& rest) {
  auto end = rest.find('\n');
  auto line = rest.substr(0, end);
  rest = end == std::string_view::npos ? "" : rest.substr(end + 1);
  if (!line.empty() && line.back() == '\r') {
    line.remove_suffix(1);
  }
  return line;
}

/// Reads "METHOD target HTTP/1.1", header lines (a line starting with
/// white space continues the one before) and the body after a blank line.
aws::signing_request parse_request(std::string_view text) {
  aws::signing_request r;
  auto first = next_line(text);
  auto sp = first.find(' ');
  r.method = std::string{first.substr(0, sp)};
  auto target = sp == std::string_view::npos ? "" : first.substr(sp + 1);
  target = target.substr(0, target.rfind(' '));
  auto question = target.find('?');
  r.path = std::string{target.substr(0, question)};
  if (question != std::string_view::npos) {
    r.query = std::string{target.substr(question + 1)};
  }
  while (!text.empty()) {
    auto line = next_line(text);
    if (line.empty()) {
      break;
    }
    if ((line[0] == ' ' || line[0] == '\t') && !r.headers.empty()) {
      r.headers.back().value += "\n" + std::string{line};
      continue;
    }
    auto colon = line.find(':');
    r.headers.push_back({std::string{line.substr(0, colon)},
                         colon == std::string_view::npos
                           ? std::string{}
                           : std::string{line.substr(colon + 1)}});
  }
  r.body = std::string{text};
  return r;
}

} // namespace

void sigv4(std::string_view data) {
  auto request = parse_request(data);
  aws::credentials creds;
  creds.access_key_id = "AKIDEXAMPLE";
  creds.secret_access_key =
    aws::secret_string{"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"};
  aws::signing_params params;
  params.region = "us-east-1";
  params.service = "service";
  params.time = std::chrono::sys_seconds{std::chrono::seconds{1440938160}};
  for (bool normalize : {true, false}) {
    params.normalize_path = normalize;
    if (auto signed_ = aws::sign_request(request, creds, params)) {
      (void)aws::apply_signature(request, *signed_);
    }
  }

  // The building blocks on the raw text as well.
  (void)aws::canonical_uri(data, true);
  (void)aws::canonical_uri(data, false);
  (void)aws::canonical_query(data);
  (void)aws::parse_iso8601(data);
}

} // namespace presync::fuzz
