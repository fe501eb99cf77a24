#include "fuzz/targets.hpp"

#include "adapters/graph/token.hpp"

namespace presync::fuzz {

void graph_token(std::string_view data) {
  (void)graph::parse_token_response(data);

  http::header_list headers;
  headers.add("Retry-After", "7");
  for (int status : {400, 401, 429, 500}) {
    (void)graph::parse_token_error(status, headers, data);
  }
}

} // namespace presync::fuzz
