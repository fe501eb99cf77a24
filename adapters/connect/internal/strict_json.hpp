// A one-pass reader of strict JSON (RFC 8259) for the common case of a
// record that is valid: it reads the bytes in place, without simdjson's
// padded copy and index, and says only whether the text is as expected.
// It gives no reasons; a caller that gets false parses the text again with
// simdjson On-Demand, which names the error. Private to adapters/connect.
#pragma once

#include <cstddef>
#include <string_view>

namespace presync::connect::internal {

/// Reads one JSON text step by step. Every call returns false on anything
/// that is not strict JSON, and also on what a caller would have to decode
/// (an escape in a key or in a string it reads): the caller then stops.
///
/// An object or array that is skipped is only checked as far as simdjson
/// On-Demand checks one it skips: its brackets are counted outside its
/// strings. It may hold no backslash and no control character (other than
/// whitespace outside strings), so that its strings end where simdjson's
/// end. Everything else is strict, so a text this reader accepts is one
/// On-Demand reads the same way.
class strict_json_reader {
 public:
  /// Nesting deeper than this is refused (records are 6 levels deep).
  static constexpr int max_depth = 64;

  explicit strict_json_reader(std::string_view text)
    : p_(text.data()), end_(text.data() + text.size()) {}

  /// Consumes `{` after optional whitespace.
  [[nodiscard]] bool begin_object();

  /// Consumes `[` after optional whitespace.
  [[nodiscard]] bool begin_array();

  /// Steps to the next member of an object begun with begin_object():
  /// true with `key` set and the reader before the value, or true with
  /// `done` set at the closing `}`. `first` is true for the first call on
  /// an object and is cleared. A key with an escape gives false.
  [[nodiscard]] bool next_member(bool& first, bool& done,
                                 std::string_view& key);

  /// Steps to the next element of an array begun with begin_array(), as
  /// next_member() does for objects.
  [[nodiscard]] bool next_element(bool& first, bool& done);

  /// Reads a string value without escapes; `out` points into the text.
  [[nodiscard]] bool read_string(std::string_view& out);

  /// Returns true and consumes the value if it is `null`.
  [[nodiscard]] bool take_null();

  /// Skips one value of any type, checking it strictly.
  [[nodiscard]] bool skip_value() { return skip_value(0); }

  /// Returns true if only whitespace is left and every byte that was not
  /// ASCII belongs to valid UTF-8 (the text as a whole is checked).
  [[nodiscard]] bool at_valid_end(std::string_view text);

 private:
  void skip_whitespace();
  bool skip_value(int depth);
  bool skip_object(int depth);
  bool skip_array(int depth);

  /// Skips the object or array at p_ by counting its brackets, 16 bytes
  /// at a time.
  bool skip_container();
  /// skip_container() for the last bytes of the text, one at a time.
  bool skip_container_tail(int depth, bool in_string);
  bool skip_literal(std::string_view word);
  bool skip_number();

  /// Scans the string at p_ (its opening quote); leaves p_ after the
  /// closing quote. `escaped` tells whether it had an escape.
  bool scan_string(std::string_view& out, bool& escaped);

  /// Checks the escape at p_ (its backslash) and steps over it.
  bool skip_escape();

  const char* p_;
  const char* end_;
  bool non_ascii_ = false; ///< a byte >= 0x80 was seen in a string
};

} // namespace presync::connect::internal
