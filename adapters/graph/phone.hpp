// Phone numbers to E.164 (spec/graph.md §7.3), through libphonenumber.
#pragma once

#include "protocol/error.hpp"

#include <string>
#include <string_view>

namespace presync::graph {

/// A dialable number: E.164 main number plus an extension kept apart.
struct e164_number {
  std::string number;    ///< "+14255550102"
  std::string extension; ///< "123", or empty

  friend bool operator==(const e164_number&, const e164_number&) = default;
};

/// Normalises free text such as "+1 (425) 555-0102 x123", "00 44 20 ..."
/// or a national number read in `default_region` (ISO 3166 alpha-2, e.g.
/// "US", "DE"). Extensions after x, ext, ext., ;ext= or # are split off.
/// Returns rejected with the reason (empty, contains letters, too many
/// digits, cannot parse, invalid number); the reason never repeats the
/// number itself.
[[nodiscard]] expected<e164_number>
normalize_e164(std::string_view text, std::string_view default_region);

} // namespace presync::graph
