#include "fuzz/targets.hpp"

#include "adapters/graph/phone.hpp"

namespace presync::fuzz {

void graph_phone(std::string_view data) {
  auto newline = data.find('\n');
  auto region = newline == std::string_view::npos ? std::string_view{"US"}
                                                  : data.substr(0, newline);
  auto text =
    newline == std::string_view::npos ? data : data.substr(newline + 1);
  (void)graph::normalize_e164(text, region);
}

} // namespace presync::fuzz
