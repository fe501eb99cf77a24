#include "config/diagnostics.hpp"

#include <algorithm>
#include <limits>
#include <utility>

namespace presync::config {

namespace {

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string_view label(diagnostic::severity s) {
  return s == diagnostic::severity::error ? "error" : "warning";
}

template <class String>
std::string closest(std::string_view word, std::span<const String> names) {
  // Up to a third of the word may be wrong, and at least two letters: short
  // keys are easy to mistype, long ones are rarely more than two edits off.
  std::size_t limit = std::max<std::size_t>(2, word.size() / 3);
  std::size_t best = limit + 1;
  std::string found;
  for (const auto& name : names) {
    auto d = edit_distance(word, name);
    if (d < best && std::string_view{name} != word) {
      best = d;
      found = std::string{name};
    }
  }
  return found;
}

} // namespace

diagnostics::diagnostics(std::string source) : source_(std::move(source)) {}

void diagnostics::add_error(std::string path, std::string message, int line) {
  items_.push_back(diagnostic{diagnostic::severity::error, std::move(path),
                              std::move(message), line});
  ++errors_;
}

void diagnostics::add_warning(std::string path, std::string message, int line) {
  items_.push_back(diagnostic{diagnostic::severity::warning, std::move(path),
                              std::move(message), line});
}

void diagnostics::sort_by_line() {
  auto key = [](const diagnostic& d) {
    return d.line > 0 ? d.line : std::numeric_limits<int>::max();
  };
  std::stable_sort(
    items_.begin(), items_.end(),
    [&](const diagnostic& a, const diagnostic& b) { return key(a) < key(b); });
}

std::string diagnostics::format(const diagnostic& d) const {
  std::string out;
  if (!source_.empty()) {
    out += source_;
    if (d.line > 0) {
      out += ":" + std::to_string(d.line);
    }
    out += ": ";
  } else if (d.line > 0) {
    out += "line " + std::to_string(d.line) + ": ";
  }

  out += label(d.level);
  out += ": ";
  if (!d.path.empty()) {
    out += d.path + ": ";
  }
  out += d.message;
  return out;
}

std::vector<std::string> diagnostics::format_all() const {
  std::vector<std::string> out;
  out.reserve(items_.size());
  for (const auto& d : items_) {
    out.push_back(format(d));
  }
  return out;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  // Optimal string alignment distance over three rolling rows.
  std::vector<std::size_t> before(b.size() + 1);
  std::vector<std::size_t> prev(b.size() + 1);
  std::vector<std::size_t> cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) {
    prev[j] = j;
  }
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t cost = lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) &&
          lower(a[i - 2]) == lower(b[j - 1])) {
        cur[j] = std::min(cur[j], before[j - 2] + 1);
      }
    }
    std::swap(before, prev);
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string closest_match(std::string_view word,
                          std::span<const std::string_view> candidates) {
  return closest(word, candidates);
}

std::string closest_match(std::string_view word,
                          std::span<const std::string> candidates) {
  return closest(word, candidates);
}

std::string did_you_mean(std::string_view word,
                         std::span<const std::string_view> candidates) {
  auto m = closest_match(word, candidates);
  return m.empty() ? std::string{} : "; did you mean " + m + "?";
}

std::string did_you_mean(std::string_view word,
                         std::span<const std::string> candidates) {
  auto m = closest_match(word, candidates);
  return m.empty() ? std::string{} : "; did you mean " + m + "?";
}

} // namespace presync::config
