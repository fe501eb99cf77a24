// A string that must never reach a log: AWS secret keys, session tokens,
// web identity tokens, container authorization tokens (STYLE.md, "Logging").
#pragma once

#include <iosfwd>
#include <string>
#include <string_view>
#include <utility>

namespace presync::aws {

/// Holds a secret; prints as a fixed mask, whatever it holds.
class secret_string {
 public:
  /// The text every formatter prints instead of the secret.
  static constexpr std::string_view mask = "***";

  secret_string() = default;
  explicit secret_string(std::string value) : value_(std::move(value)) {}

  /// Returns the secret itself, for the one place that needs it (signing).
  const std::string& reveal() const { return value_; }

  /// Returns true if no secret is held.
  bool empty() const { return value_.empty(); }

  friend bool operator==(const secret_string&, const secret_string&) = default;

 private:
  std::string value_;
};

/// Writes the mask, never the secret.
std::ostream& operator<<(std::ostream& out, const secret_string& s);

/// Returns the mask, never the secret.
std::string to_string(const secret_string& s);

} // namespace presync::aws
