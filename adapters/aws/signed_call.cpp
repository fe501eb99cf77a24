#include "adapters/aws/signed_call.hpp"

#include <utility>

namespace presync::aws {

wall_clock_fn system_wall_clock() {
  return [] {
    return std::chrono::floor<std::chrono::seconds>(
      std::chrono::system_clock::now());
  };
}

signed_caller::signed_caller(http::client& client, credentials_chain& chain,
                             service_endpoint endpoint, wall_clock_fn clock,
                             http::request_options options)
  : client_(client), chain_(chain), endpoint_(std::move(endpoint)),
    clock_(std::move(clock)), options_(options) {}

expected<http::http_response> signed_caller::call(const call_request& request) {
  // The Host header comes from the endpoint, with a port when it has one.
  auto url = http::parse_url(endpoint_.url);
  if (!url) {
    return url.err();
  }
  const bool default_port =
    (url->tls && url->port == 443) || (!url->tls && url->port == 80);
  std::string host = url->host;
  if (!default_port) {
    host += ":" + std::to_string(url->port);
  }

  // Credentials may be refreshed; one caller at a time touches the chain.
  const auto now = clock_();
  expected<timed_credentials> creds = [&] {
    std::lock_guard<std::mutex> guard{chain_mutex_};
    return chain_.get(now);
  }();
  if (!creds) {
    return creds.err();
  }

  signing_request unsigned_request{request.method, request.path, request.query,
                                   request.headers, request.body};
  unsigned_request.headers.push_back({"Host", host});
  signing_params params;
  params.region = endpoint_.region;
  params.service = endpoint_.service;
  params.time = now;
  auto signature = sign_request(unsigned_request, creds->creds, params);
  if (!signature) {
    return signature.err();
  }
  const signing_request ready = apply_signature(unsigned_request, *signature);

  // The client sets Host from the URL itself; every other header goes on.
  http::http_request out;
  out.method = ready.method;
  out.url = endpoint_.url + ready.path;
  if (!ready.query.empty()) {
    out.url += "?" + ready.query;
  }
  for (const auto& h : ready.headers) {
    out.headers.add(h.name, h.value);
  }
  out.body = ready.body;
  return client_.send(std::move(out), options_);
}

std::vector<http_header> to_aws_headers(const http::header_list& headers) {
  std::vector<http_header> out;
  out.reserve(headers.size());
  for (const auto& [name, value] : headers.fields()) {
    out.push_back({name, value});
  }
  return out;
}

env_lookup
fixed_environment(std::vector<std::pair<std::string, std::string>> values) {
  return [values = std::move(values)](
           std::string_view name) -> std::optional<std::string> {
    for (const auto& [key, value] : values) {
      if (key == name) {
        return value;
      }
    }
    return std::nullopt;
  };
}

http_call no_credential_transport() {
  return [](const simple_request&) -> expected<simple_response> {
    return make_error(sync_error::config_invalid,
                      "credentials: no network credential source allowed");
  };
}

} // namespace presync::aws
