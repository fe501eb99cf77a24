// The decision journal: why presync did, or did not, change something
// (DESIGN.md §4, "Explainability").
#pragma once

#include "protocol/time.hpp"

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

namespace presync {

/// Every decision a person's state machine records.
enum class decision : uint8_t {
  propagated,   ///< a write was made
  held,         ///< a hold started
  superseded,   ///< a hold, deferral or queued write was replaced/cancelled
  echo,         ///< a Teams value that presync's own session explains
  loop_paused,  ///< the loop guard paused this person
  no_rule,      ///< no map entry applies
  ignored,      ///< rule says ignore, condition not met, direction off, stale
  deferred,     ///< a teams_to_connect rule waits for a contact to end
  unchanged,    ///< the other side already has the value
  restored,     ///< the status presync replaced was put back
  rate_limited, ///< a write waits for Retry-After or the token bucket
  failed,       ///< a write was given up
};

inline constexpr int decision_count = 12;

std::string_view to_string(decision d);
std::optional<decision> parse_decision(std::string_view text);

/// Which way a decision points.
enum class direction : uint8_t { connect_to_teams, teams_to_connect };

std::string_view to_string(direction d);

struct journal_entry {
  mono_time at;
  decision what;
  direction dir;
  std::string detail; ///< human-readable reason, never a secret
};

/// A bounded journal that keeps the newest entries.
class journal {
 public:
  explicit journal(size_t capacity = 50) : capacity_(capacity) {}

  void add(journal_entry e) {
    if (capacity_ == 0) {
      return;
    }
    if (entries_.size() == capacity_) {
      entries_.pop_front();
    }
    entries_.push_back(std::move(e));
  }

  void set_capacity(size_t capacity) {
    capacity_ = capacity;
    while (entries_.size() > capacity_) {
      entries_.pop_front();
    }
  }

  const std::deque<journal_entry>& entries() const { return entries_; }

 private:
  size_t capacity_;
  std::deque<journal_entry> entries_;
};

} // namespace presync
