#include "adapters/log/log.hpp"

#include "protocol/json_text.hpp"

#include <atomic>
#include <cstdio>
#include <ctime>

namespace presync::log {

namespace {

class stdout_sink : public sink {
 public:
  void write(std::string_view line) override {
    std::lock_guard<std::mutex> guard{mtx_};
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
  }

 private:
  std::mutex mtx_;
};

std::mutex sink_mtx;
std::shared_ptr<sink> global_sink;
std::atomic<level> global_level{level::info};

std::shared_ptr<sink> current_sink() {
  std::lock_guard<std::mutex> guard{sink_mtx};
  if (!global_sink) {
    global_sink = std::make_shared<stdout_sink>();
  }
  return global_sink;
}

/// Formats the wall clock as UTC ISO-8601 with milliseconds and `Z`.
std::string utc_now() {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
              now.time_since_epoch()) %
            1000;
  auto t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  auto n = std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof(buf) - n, ".%03dZ",
                static_cast<int>(ms.count()));
  return buf;
}

void append_field(std::string& line, std::string_view key,
                  std::string_view value, bool quoted) {
  line += ",\"";
  append_json_escaped(line, key);
  line += "\":";
  if (quoted) {
    line += '"';
    append_json_escaped(line, value);
    line += '"';
  } else {
    line += value;
  }
}

} // namespace

std::string mask_phone(std::string_view number) {
  std::string out{number};
  if (out.size() <= 5) {
    return std::string(out.size(), '*');
  }
  for (size_t i = 3; i + 2 < out.size(); ++i) {
    out[i] = '*';
  }
  return out;
}

std::string_view to_string(level l) {
  switch (l) {
  case level::debug:
    return "debug";
  case level::info:
    return "info";
  case level::warning:
    return "warning";
  case level::error:
    return "error";
  }
  return "error";
}

bool parse_level(std::string_view text, level& out) {
  for (auto l : {level::debug, level::info, level::warning, level::error}) {
    if (text == to_string(l)) {
      out = l;
      return true;
    }
  }
  return false;
}

field kv(std::string key, std::string_view value) {
  return {std::move(key), std::string{value}, true};
}
field kv(std::string key, const char* value) {
  return kv(std::move(key), std::string_view{value});
}
field kv(std::string key, const std::string& value) {
  return kv(std::move(key), std::string_view{value});
}
field kv(std::string key, const secret&) {
  return {std::move(key), std::string{secret::mask}, true};
}
field kv(std::string key, bool value) {
  return {std::move(key), value ? "true" : "false", false};
}
field kv(std::string key, double value) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.6g", value);
  return {std::move(key), buf, false};
}
field kv(std::string key, std::int64_t value) {
  return {std::move(key), std::to_string(value), false};
}
field kv(std::string key, int value) {
  return {std::move(key), std::to_string(value), false};
}
field kv(std::string key, std::uint64_t value) {
  return {std::move(key), std::to_string(value), false};
}
field kv(std::string key, std::chrono::milliseconds value) {
  return {std::move(key) + "_ms", std::to_string(value.count()), false};
}

void memory_sink::write(std::string_view line) {
  std::lock_guard<std::mutex> guard{mtx_};
  lines_.emplace_back(line);
}

std::vector<std::string> memory_sink::lines() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return lines_;
}

void set_sink(std::shared_ptr<sink> s) {
  std::lock_guard<std::mutex> guard{sink_mtx};
  global_sink = std::move(s);
}

void set_level(level min) {
  global_level = min;
}

level current_level() {
  return global_level;
}

void logger::write(level l, std::string_view event,
                   std::initializer_list<field> fields) const {
  if (!enabled(l)) {
    return;
  }
  std::string line = "{\"ts\":\"" + utc_now() + "\"";
  append_field(line, "level", to_string(l), true);
  append_field(line, "component", component_, true);
  append_field(line, "event", event, true);
  for (const auto& f : fields) {
    append_field(line, f.key, f.value, f.quoted);
  }
  line += '}';
  current_sink()->write(line);
}

std::uint64_t rate_limit::allow(const std::string& key,
                                std::chrono::steady_clock::time_point now) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto [it, fresh] = slots_.try_emplace(key);
  if (fresh || now - it->second.last >= interval_) {
    auto passed = it->second.suppressed + 1;
    it->second.last = now;
    it->second.suppressed = 0;
    return passed;
  }
  ++it->second.suppressed;
  return 0;
}

} // namespace presync::log
