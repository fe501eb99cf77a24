// Typed reads from a yaml-cpp tree that report what was wrong, and where,
// instead of throwing. Shared by the config loader and parse_sync.
#pragma once

#include "config/diagnostics.hpp"
#include "protocol/time.hpp"

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace presync::config::internal {

/// A place in the file: the dotted path and the 1-based line (0: unknown).
struct where {
  std::string path;
  int line = 0;

  /// Returns the place of a map key below this one.
  where key(std::string_view name, int key_line) const;

  /// Returns the place of a list item below this one.
  where item(std::size_t index, int item_line) const;
};

/// One entry of a YAML map as for_each_key hands it over.
struct entry {
  std::string key;
  YAML::Node value;
  where at; ///< the key's path and line
};

/// Returns the 1-based line a node starts on, or 0 when it has none.
int line_of(const YAML::Node& n);

/// Reads values of one expected shape each, recording an error at the given
/// place (and returning nullopt) when the value does not fit.
class reader {
 public:
  explicit reader(diagnostics& diags) : diags_(diags) {}

  diagnostics& diags() { return diags_; }

  /// Records an error at `at`.
  void error(const where& at, std::string message);

  /// Records a warning at `at`.
  void warning(const where& at, std::string message);

  /// Calls `on_entry` for every key of the map `n` listed in `known`, in
  /// file order; reports unknown keys (with a likely intended one) and
  /// repeated keys. A null node is an empty map. Returns false, after
  /// reporting it, when `n` is not a map.
  bool for_each_key(const YAML::Node& n, const where& at,
                    std::span<const std::string_view> known,
                    const std::function<void(const entry&)>& on_entry);

  /// Calls `on_entry` for every entry of the map `n` whatever its key;
  /// reports keys that repeat an earlier one. Returns false when `n` is not
  /// a map.
  bool for_each_entry(const YAML::Node& n, const where& at,
                      const std::function<void(const entry&)>& on_entry);

  /// Reads a non-empty scalar.
  std::optional<std::string> text(const YAML::Node& n, const where& at);

  /// Reads a whole number in [lo, hi].
  std::optional<std::int64_t> integer(const YAML::Node& n, const where& at,
                                      std::int64_t lo, std::int64_t hi);

  /// Reads true or false.
  std::optional<bool> boolean(const YAML::Node& n, const where& at);

  /// Reads a duration such as 250ms, 15s, 4m or 1h.
  std::optional<duration> duration_of(const YAML::Node& n, const where& at);

  /// Reads one of `allowed`, exactly as spelled there.
  std::optional<std::string> one_of(const YAML::Node& n, const where& at,
                                    std::span<const std::string_view> allowed);

  /// Reads a list of non-empty scalars (a null node is an empty list).
  std::optional<std::vector<std::string>> text_list(const YAML::Node& n,
                                                    const where& at);

 private:
  diagnostics& diags_;
};

/// Returns "a map", "a list", "nothing" or the quoted scalar, for messages.
std::string describe(const YAML::Node& n);

/// Joins names with ", ".
std::string join(std::span<const std::string_view> names);
std::string join(std::span<const std::string> names);

/// Stores `value` in `out` when present.
template <class T, class U>
void assign(T& out, const std::optional<U>& value) {
  if (value) {
    out = static_cast<T>(*value);
  }
}

} // namespace presync::config::internal
