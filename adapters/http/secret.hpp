// A string that must never be printed: tokens, client secrets, request
// bodies that carry them (STYLE.md, "Logging").
#pragma once

#include <ostream>
#include <string>
#include <string_view>
#include <utility>

namespace presync::http {

/// Holds a secret value; formatting it prints a fixed mask.
class secret {
 public:
  /// The text every formatter prints instead of the value.
  static constexpr std::string_view mask = "[redacted]";

  secret() = default;
  explicit secret(std::string value) : value_(std::move(value)) {}

  /// Returns the value itself, for the one place that must send it.
  const std::string& reveal() const { return value_; }

  /// Returns true if no value is held.
  bool empty() const { return value_.empty(); }

  friend bool operator==(const secret&, const secret&) = default;

  /// Prints the mask, never the value.
  friend std::ostream& operator<<(std::ostream& out, const secret&) {
    return out << mask;
  }

 private:
  std::string value_;
};

/// Returns the mask: a secret formats the same wherever it goes.
inline std::string to_string(const secret&) {
  return std::string{secret::mask};
}

} // namespace presync::http
