#include "sim/scenario.hpp"

#include "config/sync_section.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <set>

namespace presync::sim {

namespace {

using namespace std::chrono_literals;

/// Reads one story, collecting every problem with its path in the file.
class loader {
 public:
  explicit loader(std::vector<std::string>& problems) : problems_(problems) {}

  std::optional<scenario> load(const std::string& file);

 private:
  void problem(const std::string& path, const std::string& what) {
    problems_.push_back(path + ": " + what);
  }

  std::optional<duration> read_duration(const YAML::Node& n,
                                        const std::string& path);
  std::optional<std::string> read_string(const YAML::Node& n,
                                         const std::string& path);
  bool read_bool(const YAML::Node& n, const std::string& path, bool fallback);
  void check_keys(const YAML::Node& n, const std::string& path,
                  std::initializer_list<std::string_view> allowed);
  std::string known_person(const YAML::Node& n, const std::string& path);

  void read_people(const YAML::Node& n, scenario& s);
  void read_steps(const YAML::Node& n, scenario& s);
  void read_step(const YAML::Node& n, const std::string& path, scenario& s);
  std::vector<expected_write> read_writes(const YAML::Node& n,
                                          const std::string& path);
  void read_journal(const YAML::Node& n, const std::string& path, scenario& s);

  std::vector<std::string>& problems_;
  std::set<std::string> people_;
};

std::optional<duration> loader::read_duration(const YAML::Node& n,
                                              const std::string& path) {
  if (!n.IsScalar()) {
    problem(path, "expected a duration like 15s");
    return std::nullopt;
  }
  auto d = parse_duration(n.Scalar());
  if (!d) {
    problem(path,
            "'" + n.Scalar() + "' is not a duration (use Nms, Ns, Nm or Nh)");
  }
  return d;
}

std::optional<std::string> loader::read_string(const YAML::Node& n,
                                               const std::string& path) {
  if (!n || !n.IsScalar() || n.Scalar().empty()) {
    problem(path, n ? "expected a non-empty text" : "missing");
    return std::nullopt;
  }
  return n.Scalar();
}

bool loader::read_bool(const YAML::Node& n, const std::string& path,
                       bool fallback) {
  if (!n) {
    return fallback;
  }
  bool value = fallback;
  if (!n.IsScalar() || !YAML::convert<bool>::decode(n, value)) {
    problem(path, "expected true or false");
  }
  return value;
}

void loader::check_keys(const YAML::Node& n, const std::string& path,
                        std::initializer_list<std::string_view> allowed) {
  if (!n.IsMap()) {
    problem(path, "expected a mapping");
    return;
  }
  for (const auto& kv : n) {
    auto key = kv.first.as<std::string>();
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      auto where = path.empty() ? key : path + "." + key;
      problem(where, "unknown key");
    }
  }
}

std::string loader::known_person(const YAML::Node& n, const std::string& path) {
  auto id = read_string(n, path);
  if (id && !people_.contains(*id)) {
    problem(path, "unknown person '" + *id + "'");
    return {};
  }
  return id.value_or("");
}

void loader::read_people(const YAML::Node& n, scenario& s) {
  if (!n || !n.IsSequence() || n.size() == 0) {
    problem("people", "expected a list of at least one person");
    return;
  }
  for (size_t i = 0; i < n.size(); ++i) {
    auto path = "people[" + std::to_string(i) + "]";
    const auto& p = n[i];
    check_keys(p, path, {"id", "teams", "connect", "initial"});
    if (!p.IsMap()) {
      continue;
    }
    scenario_person person;
    person.id = read_string(p["id"], path + ".id").value_or("");
    if (!person.id.empty() && !people_.insert(person.id).second) {
      problem(path + ".id", "person '" + person.id + "' is listed twice");
    }
    person.teams = read_bool(p["teams"], path + ".teams", true);
    person.connect = read_bool(p["connect"], path + ".connect", true);
    if (auto init = p["initial"]) {
      check_keys(init, path + ".initial", {"teams", "connect"});
      if (init["teams"]) {
        auto text = read_string(init["teams"], path + ".initial.teams");
        auto parsed = text ? parse_presence(*text) : std::nullopt;
        if (text && !parsed) {
          problem(path + ".initial.teams",
                  "'" + *text + "' is not a Teams presence");
        }
        person.initial_teams = parsed.value_or(person.initial_teams);
      }
      if (init["connect"]) {
        person.initial_connect =
          read_string(init["connect"], path + ".initial.connect")
            .value_or(person.initial_connect);
      }
    }
    s.people.push_back(std::move(person));
  }
}

void loader::read_steps(const YAML::Node& n, scenario& s) {
  if (!n) {
    return;
  }
  if (!n.IsSequence()) {
    problem("steps", "expected a list");
    return;
  }
  for (size_t i = 0; i < n.size(); ++i) {
    read_step(n[i], "steps[" + std::to_string(i) + "]", s);
  }
  auto earlier = [](const scenario_step& a, const scenario_step& b) {
    return a.at < b.at;
  };
  if (!std::is_sorted(s.steps.begin(), s.steps.end(), earlier)) {
    problem("steps", "steps must be in time order");
  }
}

void loader::read_step(const YAML::Node& n, const std::string& path,
                       scenario& s) {
  check_keys(n, path, {"at", "connect", "teams", "write_fails"});
  if (!n.IsMap()) {
    return;
  }
  scenario_step step;
  if (auto at = n["at"] ? read_duration(n["at"], path + ".at")
                        : (problem(path + ".at", "missing"), std::nullopt)) {
    step.at = *at;
  }
  int kinds =
    (n["connect"] ? 1 : 0) + (n["teams"] ? 1 : 0) + (n["write_fails"] ? 1 : 0);
  if (kinds != 1) {
    problem(path, "a step has exactly one of connect, teams, write_fails");
    return;
  }
  if (auto c = n["connect"]) {
    auto p = path + ".connect";
    check_keys(c, p, {"person", "state"});
    step.what = scenario_step::kind::connect;
    step.person = known_person(c["person"], p + ".person");
    step.state = read_string(c["state"], p + ".state").value_or("");
  } else if (auto t = n["teams"]) {
    auto p = path + ".teams";
    check_keys(t, p, {"person", "presence"});
    step.what = scenario_step::kind::teams;
    step.person = known_person(t["person"], p + ".person");
    auto text = read_string(t["presence"], p + ".presence");
    auto parsed = text ? parse_presence(*text) : std::nullopt;
    if (text && !parsed) {
      problem(p + ".presence", "'" + *text + "' is not a Teams presence");
    }
    step.observed = parsed.value_or(presence{});
  } else {
    auto w = n["write_fails"];
    auto p = path + ".write_fails";
    check_keys(w, p, {"person", "side", "status", "retry_after"});
    step.what = scenario_step::kind::write_fails;
    step.person = known_person(w["person"], p + ".person");
    auto side_text = read_string(w["side"], p + ".side").value_or("");
    if (side_text == "teams" || side_text == "connect") {
      step.fail_side = side_text == "teams" ? side::teams : side::connect;
    } else if (!side_text.empty()) {
      problem(p + ".side", "expected teams or connect");
    }
    int status = 0;
    if (!w["status"] || !YAML::convert<int>::decode(w["status"], status) ||
        status < 400 || status > 599) {
      problem(p + ".status", "expected an HTTP error status (400-599)");
    }
    step.fail_status = status;
    if (w["retry_after"]) {
      step.retry_after = read_duration(w["retry_after"], p + ".retry_after");
    }
  }
  s.steps.push_back(std::move(step));
}

std::vector<expected_write> loader::read_writes(const YAML::Node& n,
                                                const std::string& path) {
  std::vector<expected_write> out;
  if (!n.IsSequence()) {
    problem(path, "expected a list");
    return out;
  }
  for (size_t i = 0; i < n.size(); ++i) {
    auto p = path + "[" + std::to_string(i) + "]";
    const auto& w = n[i];
    check_keys(w, p, {"at", "teams", "connect", "result"});
    if (!w.IsMap()) {
      continue;
    }
    expected_write e;
    e.at = w["at"] ? read_duration(w["at"], p + ".at").value_or(0ms)
                   : (problem(p + ".at", "missing"), 0ms);
    if (w["teams"].IsDefined() == w["connect"].IsDefined()) {
      problem(p, "a write has exactly one of teams, connect");
      continue;
    }
    if (auto t = w["teams"]) {
      check_keys(t, p + ".teams", {"person", "presence"});
      e.to = side::teams;
      e.person = known_person(t["person"], p + ".teams.person");
      auto text =
        read_string(t["presence"], p + ".teams.presence").value_or("");
      auto parsed = text == "clear" ? std::nullopt : parse_presence(text);
      if (text != "clear" && !parsed && !text.empty()) {
        problem(p + ".teams.presence",
                "'" + text + "' is neither a Teams presence nor clear");
      }
      e.value = parsed ? parsed->key() : text;
    } else {
      auto c = w["connect"];
      check_keys(c, p + ".connect", {"person", "status"});
      e.to = side::connect;
      e.person = known_person(c["person"], p + ".connect.person");
      e.value = read_string(c["status"], p + ".connect.status").value_or("");
    }
    if (w["result"]) {
      int result = 0;
      if (!YAML::convert<int>::decode(w["result"], result)) {
        problem(p + ".result", "expected an HTTP status");
      }
      e.result = result;
    }
    out.push_back(std::move(e));
  }
  return out;
}

void loader::read_journal(const YAML::Node& n, const std::string& path,
                          scenario& s) {
  if (!n.IsSequence()) {
    problem(path, "expected a list");
    return;
  }
  for (size_t i = 0; i < n.size(); ++i) {
    auto p = path + "[" + std::to_string(i) + "]";
    const auto& j = n[i];
    check_keys(j, p, {"person", "at", "decision"});
    if (!j.IsMap()) {
      continue;
    }
    expected_decision d;
    d.person = known_person(j["person"], p + ".person");
    d.at = j["at"] ? read_duration(j["at"], p + ".at").value_or(0ms)
                   : (problem(p + ".at", "missing"), 0ms);
    auto name = read_string(j["decision"], p + ".decision").value_or("");
    if (auto parsed = parse_decision(name)) {
      d.what = *parsed;
    } else if (!name.empty()) {
      problem(p + ".decision", "unknown decision '" + name + "'");
    }
    s.journal.push_back(std::move(d));
  }
}

std::optional<scenario> loader::load(const std::string& file) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(file);
  } catch (const YAML::BadFile&) {
    problem(file, "cannot be read");
    return std::nullopt;
  } catch (const YAML::Exception& e) {
    problem("line " + std::to_string(e.mark.line + 1), e.msg);
    return std::nullopt;
  }
  scenario s;
  s.file = file;
  check_keys(root, "",
             {"description", "fresh_start", "until", "sync", "people", "steps",
              "expect"});
  if (!root.IsMap()) {
    return std::nullopt;
  }

  s.description =
    root["description"] ? root["description"].as<std::string>() : std::string{};
  s.fresh_start = read_bool(root["fresh_start"], "fresh_start", false);
  if (root["until"]) {
    s.until = read_duration(root["until"], "until");
  }
  if (auto sync = root["sync"]) {
    // Warnings (rules that can chase each other) are what some stories
    // are about; only errors stop a story from loading.
    config::diagnostics diags;
    s.sync = config::parse_sync(sync, "sync", diags);
    for (const auto& d : diags.items()) {
      if (d.level == config::diagnostic::severity::error) {
        problem(d.path, d.message);
      }
    }
  }
  read_people(root["people"], s);
  read_steps(root["steps"], s);

  auto expect = root["expect"];
  if (!expect) {
    problem("expect", "missing");
  } else {
    check_keys(expect, "expect",
               {"writes", "only_these", "refreshes", "journal"});
    if (expect["writes"]) {
      s.writes = read_writes(expect["writes"], "expect.writes");
    } else {
      problem("expect.writes", "missing (write [] for none)");
    }
    s.only_these = read_bool(expect["only_these"], "expect.only_these", true);
    if (expect["refreshes"]) {
      s.refreshes = read_writes(expect["refreshes"], "expect.refreshes");
    }
    if (expect["journal"]) {
      read_journal(expect["journal"], "expect.journal", s);
    }
  }
  if (!problems_.empty()) {
    return std::nullopt;
  }
  return s;
}

} // namespace

duration scenario::end() const {
  if (until) {
    return *until;
  }
  duration last{0};
  for (const auto& s : steps) {
    last = std::max(last, s.at);
  }
  return last + std::chrono::minutes{1};
}

std::optional<scenario> load_scenario(const std::string& file,
                                      std::vector<std::string>& problems) {
  return loader{problems}.load(file);
}

} // namespace presync::sim
