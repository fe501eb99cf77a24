// Small helpers of the Connect emulator: JSON output, base64, time text.
// Written for the emulator alone; it shares no code with adapters/.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace presync::connect_emulator {

/// Builds a JSON document, inserting commas and escaping strings.
class json_out {
 public:
  json_out& begin_object();
  json_out& end_object();
  json_out& begin_array();
  json_out& end_array();
  json_out& key(std::string_view name);
  json_out& string(std::string_view text);
  json_out& number(std::int64_t value);
  json_out& number(double value);
  json_out& boolean(bool value);
  json_out& null();
  /// Inserts an already valid JSON value verbatim.
  json_out& raw(std::string_view json);
  /// Writes epoch milliseconds as an epoch-seconds number (`1741100526.884`).
  json_out& epoch_seconds(std::int64_t ms);

  const std::string& str() const { return out_; }

 private:
  void before_value();

  std::string out_;
  std::vector<bool> first_;
  bool after_key_ = false;
};

/// Returns `text` as a quoted JSON string with escapes.
std::string json_quote(std::string_view text);

/// Encodes bytes as standard base64 with padding.
std::string base64_encode(std::string_view bytes);

/// Decodes standard base64; returns nothing on a bad character or length.
std::optional<std::string> base64_decode(std::string_view text);

/// Formats epoch milliseconds as ISO-8601 UTC with milliseconds.
std::string iso_ms(std::int64_t ms);

/// Formats epoch milliseconds as `YYYYMMDD'T'HHMMSS'Z'` (SigV4 X-Amz-Date).
std::string amz_date(std::int64_t ms);

/// Parses `YYYYMMDD'T'HHMMSS'Z'` into epoch milliseconds.
std::optional<std::int64_t> parse_amz_date(std::string_view text);

/// Parses `YYYY-MM-DDTHH:MM:SS[.fff]Z` into epoch milliseconds.
std::optional<std::int64_t> parse_iso(std::string_view text);

/// Returns the real UTC time in epoch milliseconds.
std::int64_t system_now_ms();

} // namespace presync::connect_emulator
