#pragma once

// A tiny streaming JSON writer for the Graph emulator. Commas are placed
// automatically; strings are escaped per RFC 8259.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace presync::graph_emulator {

/// Builds one JSON text; keys and values are appended in document order.
class json_writer {
 public:
  /// Opens an object (as a value, or after key()).
  json_writer& begin_object() {
    value_prefix();
    out_ += '{';
    first_.push_back(true);
    return *this;
  }

  /// Closes the innermost object.
  json_writer& end_object() {
    out_ += '}';
    first_.pop_back();
    return *this;
  }

  /// Opens an array.
  json_writer& begin_array() {
    value_prefix();
    out_ += '[';
    first_.push_back(true);
    return *this;
  }

  /// Closes the innermost array.
  json_writer& end_array() {
    out_ += ']';
    first_.pop_back();
    return *this;
  }

  /// Writes an object key; the next call writes its value.
  json_writer& key(std::string_view k) {
    value_prefix();
    append_string(k);
    out_ += ':';
    after_key_ = true;
    return *this;
  }

  /// Writes a string value.
  json_writer& string(std::string_view v) {
    value_prefix();
    append_string(v);
    return *this;
  }

  /// Writes an integer value.
  json_writer& number(std::int64_t v) {
    value_prefix();
    out_ += std::to_string(v);
    return *this;
  }

  /// Writes a boolean value.
  json_writer& boolean(bool v) {
    value_prefix();
    out_ += v ? "true" : "false";
    return *this;
  }

  /// Writes null.
  json_writer& null() {
    value_prefix();
    out_ += "null";
    return *this;
  }

  /// Writes an already serialised JSON value verbatim.
  json_writer& raw(std::string_view json) {
    value_prefix();
    out_ += json;
    return *this;
  }

  /// Writes a string member.
  json_writer& member(std::string_view k, std::string_view v) {
    return key(k).string(v);
  }

  /// Writes a string member, or null when the value is empty.
  json_writer& member_or_null(std::string_view k, std::string_view v) {
    key(k);
    return v.empty() ? null() : string(v);
  }

  /// Returns the text written so far.
  const std::string& str() const { return out_; }

  /// Escapes a string for use inside JSON quotes.
  static std::string escape(std::string_view v) {
    json_writer w;
    w.append_string(v);
    return w.out_.substr(1, w.out_.size() - 2);
  }

 private:
  void value_prefix() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (!first_.empty()) {
      if (!first_.back()) {
        out_ += ',';
      }
      first_.back() = false;
    }
  }

  void append_string(std::string_view v) {
    static constexpr char hex[] = "0123456789abcdef";
    out_ += '"';
    for (char c : v) {
      auto u = static_cast<unsigned char>(c);
      switch (c) {
      case '"':
        out_ += "\\\"";
        break;
      case '\\':
        out_ += "\\\\";
        break;
      case '\n':
        out_ += "\\n";
        break;
      case '\r':
        out_ += "\\r";
        break;
      case '\t':
        out_ += "\\t";
        break;
      default:
        if (u < 0x20) {
          out_ += "\\u00";
          out_ += hex[u >> 4];
          out_ += hex[u & 0xf];
        } else {
          out_ += c;
        }
      }
    }
    out_ += '"';
  }

  std::string out_;
  std::vector<bool> first_;
  bool after_key_ = false;
};

} // namespace presync::graph_emulator
