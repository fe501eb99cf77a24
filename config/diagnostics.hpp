// What the config loader found wrong, with where it found it
// (DESIGN.md §6: check-config "reports every problem with its path").
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace presync::config {

/// One problem in a config or scenario file.
struct diagnostic {
  enum class severity { error, warning };

  severity level = severity::error;
  std::string path;    ///< e.g. tenants[0].sync.min_hold; empty: the file
  std::string message; ///< never holds a secret's value
  int line = 0;        ///< 1-based line in the source; 0 when unknown
};

/// Every problem found while reading one source, in the order found.
class diagnostics {
 public:
  /// Creates an empty collection for `source`, the file name printed in
  /// front of each diagnostic (may be empty).
  explicit diagnostics(std::string source = {});

  /// Records an error at `path` (and `line`, 1-based, when known).
  void add_error(std::string path, std::string message, int line = 0);

  /// Records a warning at `path` (and `line`, 1-based, when known).
  void add_warning(std::string path, std::string message, int line = 0);

  /// Returns true if any error was recorded.
  bool has_errors() const { return errors_ > 0; }

  /// Returns the number of errors recorded.
  std::size_t error_count() const { return errors_; }

  /// Returns the number of warnings recorded.
  std::size_t warning_count() const { return items_.size() - errors_; }

  /// Orders the diagnostics by line, keeping the order recorded within a
  /// line; those without a line go last.
  void sort_by_line();

  /// Returns every diagnostic, in the order recorded.
  std::span<const diagnostic> items() const { return items_; }

  /// Returns the source name given at construction.
  const std::string& source() const { return source_; }

  /// Formats one diagnostic as `FILE:LINE: error: PATH: MESSAGE`; the file,
  /// line and path parts are left out when unknown.
  std::string format(const diagnostic& d) const;

  /// Formats every diagnostic, one per element.
  std::vector<std::string> format_all() const;

 private:
  std::string source_;
  std::vector<diagnostic> items_;
  std::size_t errors_ = 0;
};

/// Returns the edit distance between `a` and `b`, ignoring ASCII case; a
/// swap of two neighbouring letters counts as one edit.
std::size_t edit_distance(std::string_view a, std::string_view b);

/// Returns the candidate closest to `word` when it is close enough to be a
/// likely typo, or an empty string.
std::string closest_match(std::string_view word,
                          std::span<const std::string_view> candidates);

std::string closest_match(std::string_view word,
                          std::span<const std::string> candidates);

/// Returns "; did you mean X?" for the closest candidate, or "".
std::string did_you_mean(std::string_view word,
                         std::span<const std::string_view> candidates);
std::string did_you_mean(std::string_view word,
                         std::span<const std::string> candidates);

} // namespace presync::config
