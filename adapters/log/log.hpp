// Structured logging: one JSON object per line with `ts`, `level`,
// `component`, `event` and context fields (STYLE.md, "Logging").
//
// Secrets travel in `secret`, whose every printed form is a fixed mask, so
// a token can be passed around freely without ever reaching a log line.
#pragma once

#include "protocol/secret.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <ostream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace presync::log {

/// Secrets are the project-wide masked type (protocol/secret.hpp).
using presync::secret;

/// Returns a phone number with all but its first three and last two
/// characters masked ("+4930******45").
std::string mask_phone(std::string_view number);

enum class level : uint8_t { debug, info, warning, error };

std::string_view to_string(level l);

/// Parses debug|info|warning|error.
bool parse_level(std::string_view text, level& out);

/// One context field of a log line.
struct field {
  std::string key;
  std::string value;
  bool quoted = true;
};

field kv(std::string key, std::string_view value);
field kv(std::string key, const char* value);
field kv(std::string key, const std::string& value);
field kv(std::string key, const secret& value);
field kv(std::string key, bool value);
field kv(std::string key, double value);
field kv(std::string key, std::int64_t value);
field kv(std::string key, int value);
field kv(std::string key, std::uint64_t value);
field kv(std::string key, std::chrono::milliseconds value);

/// Where lines go: stdout in production, memory in tests.
class sink {
 public:
  virtual ~sink() = default;
  virtual void write(std::string_view line) = 0;
};

/// Keeps every line, for tests.
class memory_sink : public sink {
 public:
  void write(std::string_view line) override;
  std::vector<std::string> lines() const;

 private:
  mutable std::mutex mtx_;
  std::vector<std::string> lines_;
};

/// Sets the process-wide sink (stdout when never set) and minimum level.
void set_sink(std::shared_ptr<sink> s);
void set_level(level min);
level current_level();

/// A component's logger, e.g. logger{"graph.writer"}.
class logger {
 public:
  explicit logger(std::string component) : component_(std::move(component)) {}

  /// Returns true if lines of `l` are written; build costly fields only
  /// then.
  bool enabled(level l) const { return l >= current_level(); }

  void write(level l, std::string_view event,
             std::initializer_list<field> fields = {}) const;

  void debug(std::string_view event,
             std::initializer_list<field> f = {}) const {
    write(level::debug, event, f);
  }
  void info(std::string_view event, std::initializer_list<field> f = {}) const {
    write(level::info, event, f);
  }
  void warning(std::string_view event,
               std::initializer_list<field> f = {}) const {
    write(level::warning, event, f);
  }
  void error(std::string_view event,
             std::initializer_list<field> f = {}) const {
    write(level::error, event, f);
  }

  const std::string& component() const { return component_; }

 private:
  std::string component_;
};

/// Lets a repeated event through at most once per `interval` per key and
/// counts what it held back (Seastar's logger::rate_limit idea).
class rate_limit {
 public:
  explicit rate_limit(std::chrono::milliseconds interval)
    : interval_(interval) {}

  /// Returns how many were suppressed since the last pass, plus one, when
  /// the event may be logged now; 0 when it must be held back.
  std::uint64_t allow(const std::string& key,
                      std::chrono::steady_clock::time_point now);

 private:
  struct slot {
    std::chrono::steady_clock::time_point last;
    std::uint64_t suppressed = 0;
  };
  std::chrono::milliseconds interval_;
  std::mutex mtx_;
  std::unordered_map<std::string, slot> slots_;
};

} // namespace presync::log
