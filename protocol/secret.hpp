// A secret value: token, client secret, access key. Every printed form of
// it is a fixed mask, so it can travel through logs, errors and messages
// without ever showing (STYLE.md, "Logging").
#pragma once

#include <ostream>
#include <string>
#include <string_view>
#include <utility>

namespace presync {

class secret {
 public:
  /// The text every formatter prints instead of the value.
  static constexpr std::string_view mask = "***";

  secret() = default;
  explicit secret(std::string value) : value_(std::move(value)) {}

  /// Returns the value itself, for the one place that puts it on the wire.
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

/// Returns the mask.
inline std::string to_string(const secret&) {
  return std::string{secret::mask};
}

} // namespace presync
