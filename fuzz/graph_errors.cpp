#include "fuzz/targets.hpp"

#include "adapters/graph/errors.hpp"

namespace presync::fuzz {

void graph_errors(std::string_view data) {
  (void)graph::parse_graph_error(data);

  // The same body as a throttled answer; the Retry-After header is the
  // first line of the input, so odd header values are tried too.
  http::http_response r;
  r.status = 429;
  auto newline = data.find('\n');
  if (newline != std::string_view::npos) {
    r.headers.add("Retry-After", std::string{data.substr(0, newline)});
    r.headers.add("request-id", std::string{data.substr(0, newline)});
  }
  r.body = std::string{data};
  (void)graph::from_graph_response(r, "fuzz");
  r.status = 503;
  (void)graph::from_graph_response(r, "fuzz");
}

} // namespace presync::fuzz
