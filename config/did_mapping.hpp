// The optional direct-number file of a tenant (connect.did_mapping_file):
// which Connect agent answers a direct number, or a number plus extension,
// for the inbound routing lookup (DESIGN.md §5, C5). It adds to, and wins
// over, the desk phone numbers read from the Connect directory.
//
// One entry a line, comma-separated: `number,agent` or
// `number,extension,agent`; the number in international form (+ and the
// country code; spaces, dashes, dots and brackets are allowed), the
// extension digits only, the agent a Connect user id or username. Blank
// lines and lines starting with # are skipped.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace presync::config {

/// One line of the file.
struct did_mapping_entry {
  std::string number;    ///< "+15555550100": + and digits only
  std::string extension; ///< digits, or empty
  std::string agent;     ///< Connect user id or username, as written
  size_t line = 0;
};

/// What reading the file found: entries, and one message per bad line
/// ("line 3: ...").
struct did_mapping {
  std::vector<did_mapping_entry> entries;
  std::vector<std::string> problems;
};

/// Parses the text of a direct-number file. A line with a problem is left
/// out and named; a number and extension listed twice is a problem on the
/// second line.
did_mapping parse_did_mapping(std::string_view text);

} // namespace presync::config
