#include "config/internal/yaml_reader.hpp"

#include <charconv>
#include <map>

namespace presync::config::internal {

namespace {

// Key text as written; a key that is not a scalar reads as its description.
std::string key_text(const YAML::Node& k) {
  return k.IsScalar() ? k.Scalar() : describe(k);
}

bool same_map_type(const YAML::Node& n) {
  return n.IsMap() || n.IsNull();
}

} // namespace

where where::key(std::string_view name, int key_line) const {
  return {path.empty() ? std::string{name} : path + "." + std::string{name},
          key_line};
}

where where::item(std::size_t index, int item_line) const {
  return {path + "[" + std::to_string(index) + "]", item_line};
}

int line_of(const YAML::Node& n) {
  if (!n.IsDefined()) {
    return 0;
  }
  auto mark = n.Mark();
  return mark.is_null() ? 0 : mark.line + 1;
}

std::string describe(const YAML::Node& n) {
  if (!n.IsDefined() || n.IsNull()) {
    return "nothing";
  }
  if (n.IsMap()) {
    return n.size() == 0 ? "an empty map" : "a map";
  }
  if (n.IsSequence()) {
    return n.size() == 0 ? "an empty list" : "a list";
  }
  return "\"" + n.Scalar() + "\"";
}

std::string join(std::span<const std::string_view> names) {
  std::string out;
  for (auto n : names) {
    out += out.empty() ? "" : ", ";
    out += n;
  }
  return out;
}

std::string join(std::span<const std::string> names) {
  std::string out;
  for (const auto& n : names) {
    out += out.empty() ? "" : ", ";
    out += n;
  }
  return out;
}

void reader::error(const where& at, std::string message) {
  diags_.add_error(at.path, std::move(message), at.line);
}

void reader::warning(const where& at, std::string message) {
  diags_.add_warning(at.path, std::move(message), at.line);
}

bool reader::for_each_entry(const YAML::Node& n, const where& at,
                            const std::function<void(const entry&)>& on) {
  if (!same_map_type(n)) {
    error(at, "expected a map, got " + describe(n));
    return false;
  }
  if (n.IsNull()) {
    return true;
  }

  // yaml-cpp keeps repeated keys; the service would silently use one of
  // them, so each repeat is an error.
  std::map<std::string, int> first_line;
  for (auto it = n.begin(); it != n.end(); ++it) {
    auto key = key_text(it->first);
    auto here = at.key(key, line_of(it->first));
    auto [seen, fresh] = first_line.emplace(key, here.line);
    if (!fresh) {
      error(here, "repeats a key first given on line " +
                    std::to_string(seen->second));
      continue;
    }
    on(entry{key, it->second, here});
  }
  return true;
}

bool reader::for_each_key(const YAML::Node& n, const where& at,
                          std::span<const std::string_view> known,
                          const std::function<void(const entry&)>& on) {
  return for_each_entry(n, at, [&](const entry& e) {
    for (auto k : known) {
      if (k == e.key) {
        on(e);
        return;
      }
    }
    error(e.at, "unknown key" + did_you_mean(e.key, known));
  });
}

std::optional<std::string> reader::text(const YAML::Node& n, const where& at) {
  if (!n.IsScalar() || n.Scalar().empty()) {
    error(at, "expected a text value, got " + describe(n));
    return std::nullopt;
  }
  return n.Scalar();
}

std::optional<std::int64_t> reader::integer(const YAML::Node& n,
                                            const where& at, std::int64_t lo,
                                            std::int64_t hi) {
  std::int64_t value = 0;
  bool parsed = false;
  if (n.IsScalar()) {
    const auto& s = n.Scalar();
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    parsed = ec == std::errc{} && end == s.data() + s.size() && !s.empty();
  }
  if (!parsed) {
    error(at, "expected a whole number, got " + describe(n));
    return std::nullopt;
  }
  if (value < lo || value > hi) {
    error(at, std::to_string(value) + " is out of range; allowed " +
                std::to_string(lo) + ".." + std::to_string(hi));
    return std::nullopt;
  }
  return value;
}

std::optional<bool> reader::boolean(const YAML::Node& n, const where& at) {
  if (n.IsScalar()) {
    if (n.Scalar() == "true") {
      return true;
    }
    if (n.Scalar() == "false") {
      return false;
    }
  }
  error(at, "expected true or false, got " + describe(n));
  return std::nullopt;
}

std::optional<duration> reader::duration_of(const YAML::Node& n,
                                            const where& at) {
  std::optional<duration> d;
  if (n.IsScalar()) {
    d = parse_duration(n.Scalar());
  }
  if (!d) {
    error(at, "expected a duration like 15s (a whole number with ms, s, m "
              "or h), got " +
                describe(n));
  }
  return d;
}

std::optional<std::string>
reader::one_of(const YAML::Node& n, const where& at,
               std::span<const std::string_view> allowed) {
  if (n.IsScalar()) {
    for (auto a : allowed) {
      if (a == n.Scalar()) {
        return std::string{a};
      }
    }
  }
  auto hint = n.IsScalar() ? did_you_mean(n.Scalar(), allowed) : "";
  error(at, "expected one of " + join(allowed) + ", got " + describe(n) + hint);
  return std::nullopt;
}

std::optional<std::vector<std::string>> reader::text_list(const YAML::Node& n,
                                                          const where& at) {
  if (n.IsNull()) {
    return std::vector<std::string>{};
  }
  if (!n.IsSequence()) {
    error(at, "expected a list like [a, b], got " + describe(n));
    return std::nullopt;
  }
  std::vector<std::string> out;
  bool ok = true;
  for (std::size_t i = 0; i < n.size(); ++i) {
    auto item = n[i];
    auto value = text(item, at.item(i, line_of(item)));
    if (value) {
      out.push_back(*value);
    } else {
      ok = false;
    }
  }
  if (!ok) {
    return std::nullopt;
  }
  return out;
}

} // namespace presync::config::internal
