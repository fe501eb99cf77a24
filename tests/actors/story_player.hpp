// Plays a shared scenario through a real tenant of actors on the test
// coordinator's clock, and turns what the memory writer saw into the
// replay that sim::first_difference compares with the story.
#pragma once

#include "actor_fixture.hpp"
#include "sim/runner.hpp"
#include "sim/scenario.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace presync::actors::testing {

/// Returns every story file of the shared folder, sorted.
inline std::vector<std::string> story_files() {
  std::vector<std::string> out;
  std::filesystem::path dir{PRESYNC_SHARED_DIR "/scenarios"};
  for (const auto& e : std::filesystem::directory_iterator{dir}) {
    if (e.path().extension() == ".yaml") {
      out.push_back(e.path().string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

/// Returns "OnContactBusy" for ".../on-contact-busy.yaml".
inline std::string story_name(const std::string& file) {
  auto stem = std::filesystem::path{file}.stem().string();
  std::string out;
  bool upper = true;
  for (char c : stem) {
    if (std::isalnum(static_cast<unsigned char>(c)) == 0) {
      upper = true;
      continue;
    }
    out += upper
             ? static_cast<char>(std::toupper(static_cast<unsigned char>(c)))
             : c;
    upper = false;
  }
  return out;
}

inline std::optional<sim::scenario> load_story(const std::string& file) {
  std::vector<std::string> problems;
  auto s = sim::load_scenario(file, problems);
  for (const auto& p : problems) {
    ADD_FAILURE() << file << ": " << p;
  }
  return s;
}

/// How a play is disturbed.
struct disturbance {
  /// Kill every person actor at this instant, after its timers fired and
  /// before the inputs of that instant are sent (so they reach dead
  /// actors and must be replayed).
  std::optional<duration> kill_at;
};

class story_player {
 public:
  story_player(actor_fixture& fx, const sim::scenario& s,
               supervision_settings supervision = {})
    : fx_(fx), s_(s) {
    writer_ = fx_.spawn_writer();
    tenant_config cfg;
    cfg.tenant = "story";
    cfg.sync = std::make_shared<sync_settings>(s.sync);
    for (const auto& p : s.people) {
      person_init init;
      init.id = p.id;
      init.has_teams = p.teams;
      init.has_connect = p.connect;
      init.connect_state = p.initial_connect;
      init.teams_presence = p.initial_teams;
      cfg.people.push_back(std::move(init));
    }
    cfg.mode = s.fresh_start ? start_mode::fresh : start_mode::resumed;
    // The limits the scenario runner uses.
    cfg.connect_limits.requests_per_window = 2;
    cfg.connect_limits.window = std::chrono::seconds{1};
    cfg.connect_limits.burst = 5;
    cfg.supervision = supervision;
    sup_ = fx_.start_tenant(std::move(cfg), writer_);
  }

  /// Plays every step at its time, then runs the clock to the end.
  sim::replay play(const disturbance& d = {}) {
    bool killed = false;
    for (const auto& step : s_.steps) {
      if (!killed && d.kill_at && *d.kill_at <= step.at) {
        fx_.advance_to(*d.kill_at);
        kill_everyone();
        killed = true;
        // Nothing has run since the kill: this input reaches a dead actor.
        if (*d.kill_at == step.at) {
          apply(step);
          continue;
        }
      }
      fx_.advance_to(step.at);
      apply(step);
    }
    if (!killed && d.kill_at) {
      fx_.advance_to(*d.kill_at);
      kill_everyone();
    }
    fx_.advance_to(s_.end());
    return collect();
  }

  /// Returns the number of person actors killed so far.
  size_t kills() const { return kills_; }

  const caf::actor& supervisor() const { return sup_; }

 private:
  void kill_everyone() {
    std::vector<caf::actor> children;
    for (const auto& p : s_.people) {
      children.push_back(fx_.child(sup_, p.id));
    }
    for (const auto& c : children) {
      if (c) {
        caf::anon_send_exit(c, caf::exit_reason::kill);
        ++kills_;
      }
    }
  }

  void apply(const sim::scenario_step& step) {
    auto ms = step.at.count();
    switch (step.what) {
    case sim::scenario_step::kind::connect:
      fx_.self_->send(sup_, connect_change{step.person, step.state, ms});
      break;
    case sim::scenario_step::kind::teams:
      fx_.self_->send(sup_, teams_observation{step.person, step.observed, ms});
      break;
    case sim::scenario_step::kind::write_fails:
      fx_.self_->send(writer_,
                      scripted_failure{step.person, step.fail_side,
                                       step.fail_status, step.retry_after});
      break;
    }
    fx_.run();
  }

  sim::replay collect() {
    sim::replay r;
    for (const auto& rec : fx_.records(writer_)) {
      sim::expected_write w{rec.at.time_since_epoch(), rec.to, rec.person,
                            rec.value, rec.result};
      (rec.kind == write_kind::refresh ? r.refreshes : r.writes)
        .push_back(std::move(w));
    }
    for (const auto& p : s_.people) {
      auto j = fx_.ask<journal_entries>(sup_, caf::get_atom::value,
                                        journal_atom::value, p.id);
      if (j) {
        r.decisions[p.id] = j->entries;
      }
    }
    return r;
  }

  actor_fixture& fx_;
  const sim::scenario& s_;
  caf::actor writer_;
  caf::actor sup_;
  size_t kills_ = 0;
};

} // namespace presync::actors::testing
