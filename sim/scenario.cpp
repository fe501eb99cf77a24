#include "sim/scenario.hpp"

#include "config/sync_section.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <set>

namespace presync::sim {

namespace {

using namespace std::chrono_literals;

/// Reads one story, collecting every problem with its path in the file.
class loader {
 public:
  explicit loader(std::vector<std::string>& problems) : problems_(problems) {}

  std::optional<scenario> load(const std::string& file);
  std::optional<scenario> load_text(std::string_view text,
                                    const std::string& name);

 private:
  /// Records a problem at the line of the entry being read.
  void problem(const std::string& path, const std::string& what) {
    problem_at(line_, path, what);
  }

  /// Records a problem at `n`'s line (the entry's when `n` has none).
  void problem(const YAML::Node& n, const std::string& path,
               const std::string& what) {
    auto line = line_of(n);
    problem_at(line > 0 ? line : line_, path, what);
  }

  void problem_at(int line, const std::string& path, const std::string& what) {
    auto where = line > 0 ? "line " + std::to_string(line) + ": " : "";
    problems_.push_back(where + path + ": " + what);
  }

  /// Returns the 1-based line `n` starts on, 0 when unknown.
  static int line_of(const YAML::Node& n) {
    return n.IsDefined() && !n.Mark().is_null() ? n.Mark().line + 1 : 0;
  }

  /// Returns the presence `text` names, or nullopt with a problem when it
  /// is not one Teams knows (a typo such as Busy/InACal, or Purple/Haze).
  std::optional<presence> read_presence(const YAML::Node& n,
                                        const std::string& text,
                                        const std::string& path,
                                        std::string_view expected);

  /// Checks that a Connect state is not one edit (or only the case) away
  /// from a state presync knows, such as OnContcat or oncontact; other
  /// status names are the instance's own and are taken as written.
  void check_connect_state(const YAML::Node& n, const std::string& state,
                           const std::string& path);

  std::optional<duration> read_duration(const YAML::Node& n,
                                        const std::string& path);
  std::optional<std::string> read_string(const YAML::Node& n,
                                         const std::string& path);
  bool read_bool(const YAML::Node& n, const std::string& path, bool fallback);
  bool check_keys(const YAML::Node& n, const std::string& path,
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
  int line_ = 0; ///< the line of the entry being read, 0 at the top
};

/// Returns the edit distance of `a` and `b`, case-insensitive, with a
/// swap of two neighbours counted as one edit (OnContcat -> OnContact).
size_t distance(std::string_view a, std::string_view b) {
  if (a.size() > b.size() + 2 || b.size() > a.size() + 2) {
    return 3; // further than anything we look for
  }
  auto same = [](char x, char y) {
    return iequals(std::string_view{&x, 1}, std::string_view{&y, 1});
  };
  std::vector<std::vector<size_t>> d(a.size() + 1,
                                     std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) {
    d[i][0] = i;
  }
  for (size_t j = 0; j <= b.size(); ++j) {
    d[0][j] = j;
  }
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = same(a[i - 1], b[j - 1]) ? 0 : 1;
      d[i][j] =
        std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && same(a[i - 1], b[j - 2]) &&
          same(a[i - 2], b[j - 1])) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

std::optional<presence> loader::read_presence(const YAML::Node& n,
                                              const std::string& text,
                                              const std::string& path,
                                              std::string_view expected) {
  auto parsed = parse_presence(text);
  if (parsed && canonical_availability(parsed->availability) &&
      canonical_activity(parsed->activity)) {
    return parsed;
  }
  std::string why;
  if (parsed && !canonical_availability(parsed->availability)) {
    why = " (unknown availability '" + parsed->availability + "')";
  } else if (parsed) {
    why = " (unknown activity '" + parsed->activity + "')";
  }
  problem(n, path, "'" + text + "' is " + std::string{expected} + why);
  return std::nullopt;
}

void loader::check_connect_state(const YAML::Node& n, const std::string& state,
                                 const std::string& path) {
  for (auto known : {connect_states::on_contact, connect_states::incoming,
                     connect_states::after_contact_work, connect_states::missed,
                     connect_states::error, connect_states::logged_out,
                     connect_states::available, connect_states::offline}) {
    if (state == known) {
      return;
    }
    if (distance(state, known) <= 1) {
      problem(n, path,
              "'" + state + "' is not a Connect state; did you mean '" +
                std::string{known} + "'?");
      return;
    }
  }
}

std::optional<duration> loader::read_duration(const YAML::Node& n,
                                              const std::string& path) {
  if (!n.IsScalar()) {
    problem(n, path, "expected a duration like 15s");
    return std::nullopt;
  }
  auto d = parse_duration(n.Scalar());
  if (!d) {
    problem(n, path,
            "'" + n.Scalar() + "' is not a duration (use Nms, Ns, Nm or Nh)");
  }
  return d;
}

std::optional<std::string> loader::read_string(const YAML::Node& n,
                                               const std::string& path) {
  if (!n || !n.IsScalar() || n.Scalar().empty()) {
    problem(n, path, n ? "expected a non-empty text" : "missing");
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
    problem(n, path, "expected true or false");
  }
  return value;
}

bool loader::check_keys(const YAML::Node& n, const std::string& path,
                        std::initializer_list<std::string_view> allowed) {
  if (!n.IsMap()) {
    problem(n, path.empty() ? "story" : path, "expected a mapping");
    return false;
  }
  for (const auto& kv : n) {
    if (!kv.first.IsScalar()) {
      problem(kv.first, path.empty() ? "story" : path,
              "expected a text as key");
      continue;
    }
    const auto& key = kv.first.Scalar();
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      auto where = path.empty() ? key : path + "." + key;
      problem(kv.first, where, "unknown key");
    }
  }
  return true;
}

std::string loader::known_person(const YAML::Node& n, const std::string& path) {
  auto id = read_string(n, path);
  if (id && !people_.contains(*id)) {
    problem(n, path, "unknown person '" + *id + "'");
    return {};
  }
  return id.value_or("");
}

void loader::read_people(const YAML::Node& n, scenario& s) {
  if (!n || !n.IsSequence() || n.size() == 0) {
    problem(n, "people", "expected a list of at least one person");
    return;
  }
  for (size_t i = 0; i < n.size(); ++i) {
    auto path = "people[" + std::to_string(i) + "]";
    const auto& p = n[i];
    line_ = line_of(p);
    check_keys(p, path, {"id", "teams", "connect", "initial"});
    if (!p.IsMap()) {
      continue;
    }
    scenario_person person;
    person.id = read_string(p["id"], path + ".id").value_or("");
    if (!person.id.empty() && !people_.insert(person.id).second) {
      problem(p["id"], path + ".id",
              "person '" + person.id + "' is listed twice");
    }
    person.teams = read_bool(p["teams"], path + ".teams", true);
    person.connect = read_bool(p["connect"], path + ".connect", true);
    auto init = p["initial"];
    if (init && check_keys(init, path + ".initial", {"teams", "connect"})) {
      if (init["teams"]) {
        auto text = read_string(init["teams"], path + ".initial.teams");
        auto parsed =
          text ? read_presence(init["teams"], *text, path + ".initial.teams",
                               "not a Teams presence")
               : std::nullopt;
        person.initial_teams = parsed.value_or(person.initial_teams);
      }
      if (init["connect"]) {
        person.initial_connect =
          read_string(init["connect"], path + ".initial.connect")
            .value_or(person.initial_connect);
        check_connect_state(init["connect"], person.initial_connect,
                            path + ".initial.connect");
      }
    }
    s.people.push_back(std::move(person));
  }
  line_ = 0;
}

void loader::read_steps(const YAML::Node& n, scenario& s) {
  if (!n) {
    return;
  }
  if (!n.IsSequence()) {
    problem(n, "steps", "expected a list");
    return;
  }
  for (size_t i = 0; i < n.size(); ++i) {
    read_step(n[i], "steps[" + std::to_string(i) + "]", s);
  }
  auto earlier = [](const scenario_step& a, const scenario_step& b) {
    return a.at < b.at;
  };
  line_ = 0;
  if (!std::is_sorted(s.steps.begin(), s.steps.end(), earlier)) {
    problem(n, "steps", "steps must be in time order");
  }
}

void loader::read_step(const YAML::Node& n, const std::string& path,
                       scenario& s) {
  line_ = line_of(n);
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
    if (!check_keys(c, p, {"person", "state"})) {
      return;
    }
    step.what = scenario_step::kind::connect;
    step.person = known_person(c["person"], p + ".person");
    step.state = read_string(c["state"], p + ".state").value_or("");
    check_connect_state(c["state"], step.state, p + ".state");
  } else if (auto t = n["teams"]) {
    auto p = path + ".teams";
    if (!check_keys(t, p, {"person", "presence"})) {
      return;
    }
    step.what = scenario_step::kind::teams;
    step.person = known_person(t["person"], p + ".person");
    auto text = read_string(t["presence"], p + ".presence");
    auto parsed = text ? read_presence(t["presence"], *text, p + ".presence",
                                       "not a Teams presence")
                       : std::nullopt;
    step.observed = parsed.value_or(presence{});
  } else {
    auto w = n["write_fails"];
    auto p = path + ".write_fails";
    if (!check_keys(w, p, {"person", "side", "status", "retry_after"})) {
      return;
    }
    step.what = scenario_step::kind::write_fails;
    step.person = known_person(w["person"], p + ".person");
    auto side_text = read_string(w["side"], p + ".side").value_or("");
    if (side_text == "teams" || side_text == "connect") {
      step.fail_side = side_text == "teams" ? side::teams : side::connect;
    } else if (!side_text.empty()) {
      problem(w["side"], p + ".side", "expected teams or connect");
    }
    int status = 0;
    if (!w["status"] || !YAML::convert<int>::decode(w["status"], status) ||
        status < 400 || status > 599) {
      problem(w["status"], p + ".status",
              "expected an HTTP error status (400-599)");
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
    problem(n, path, "expected a list");
    return out;
  }
  for (size_t i = 0; i < n.size(); ++i) {
    auto p = path + "[" + std::to_string(i) + "]";
    const auto& w = n[i];
    line_ = line_of(w);
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
      if (!check_keys(t, p + ".teams", {"person", "presence"})) {
        continue;
      }
      e.to = side::teams;
      e.person = known_person(t["person"], p + ".teams.person");
      auto text =
        read_string(t["presence"], p + ".teams.presence").value_or("");
      auto parsed =
        text == "clear" || text.empty()
          ? std::nullopt
          : read_presence(t["presence"], text, p + ".teams.presence",
                          "neither a Teams presence nor clear");
      e.value = parsed ? parsed->key() : text;
    } else {
      auto c = w["connect"];
      if (!check_keys(c, p + ".connect", {"person", "status"})) {
        continue;
      }
      e.to = side::connect;
      e.person = known_person(c["person"], p + ".connect.person");
      e.value = read_string(c["status"], p + ".connect.status").value_or("");
    }
    if (w["result"]) {
      int result = 0;
      if (!YAML::convert<int>::decode(w["result"], result)) {
        problem(w["result"], p + ".result", "expected an HTTP status");
      }
      e.result = result;
    }
    out.push_back(std::move(e));
  }
  line_ = 0;
  return out;
}

void loader::read_journal(const YAML::Node& n, const std::string& path,
                          scenario& s) {
  if (!n.IsSequence()) {
    problem(n, path, "expected a list");
    return;
  }
  for (size_t i = 0; i < n.size(); ++i) {
    auto p = path + "[" + std::to_string(i) + "]";
    const auto& j = n[i];
    line_ = line_of(j);
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
      problem(j["decision"], p + ".decision",
              "unknown decision '" + name + "'");
    }
    s.journal.push_back(std::move(d));
  }
  line_ = 0;
}

std::optional<scenario> loader::load(const std::string& file) {
  std::ifstream in{file, std::ios::binary};
  if (!in) {
    problem(file, "cannot be read");
    return std::nullopt;
  }
  std::string text{std::istreambuf_iterator<char>{in},
                   std::istreambuf_iterator<char>{}};
  return load_text(text, file);
}

std::optional<scenario> loader::load_text(std::string_view text,
                                          const std::string& name) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string{text});
  } catch (const YAML::Exception& e) {
    problem("line " + std::to_string(e.mark.line + 1), e.msg);
    return std::nullopt;
  }
  scenario s;
  s.file = name;
  check_keys(root, "",
             {"description", "fresh_start", "until", "sync", "people", "steps",
              "expect"});
  if (!root.IsMap()) {
    return std::nullopt;
  }

  if (auto d = root["description"]; d && !d.IsScalar()) {
    problem(d, "description", "expected a text");
  } else if (d) {
    s.description = d.Scalar();
  }
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
        problem_at(d.line, d.path, d.message);
      }
    }
  }
  read_people(root["people"], s);
  read_steps(root["steps"], s);

  auto expect = root["expect"];
  if (!expect) {
    problem("expect", "missing");
  } else if (check_keys(expect, "expect",
                        {"writes", "only_these", "refreshes", "journal"})) {
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

std::optional<scenario> load_scenario_text(std::string_view text,
                                           const std::string& name,
                                           std::vector<std::string>& problems) {
  return loader{problems}.load_text(text, name);
}

} // namespace presync::sim
