// The decision journal: why presync did, or did not, change something
// (DESIGN.md §4, "Explainability").
#pragma once

#include "protocol/time.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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

/// A journal's entries, oldest first, as a value: it owns them, and its
/// front(), back() and operator[] return copies, so that
/// `const auto& last = j.entries().back();` is safe although entries()
/// returns a temporary.
class journal_entry_list {
 public:
  using const_iterator = std::vector<journal_entry>::const_iterator;

  journal_entry_list() = default;
  explicit journal_entry_list(std::vector<journal_entry> entries)
    : entries_(std::move(entries)) {}

  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  const_iterator begin() const { return entries_.begin(); }
  const_iterator end() const { return entries_.end(); }
  journal_entry front() const { return entries_.front(); }
  journal_entry back() const { return entries_.back(); }
  journal_entry operator[](size_t i) const { return entries_[i]; }

  /// Hands the entries over, e.g. to a reply message.
  operator std::vector<journal_entry>() && { return std::move(entries_); }

 private:
  std::vector<journal_entry> entries_;
};

/// A bounded journal that keeps the newest entries.
///
/// Stored compactly, because every person keeps one and a person actor
/// copies its machine after every input: the entries live in one byte
/// buffer, oldest first, so a copy is one allocation and a memcpy. Each
/// entry is its instant as a varint of the difference from the entry
/// before it, one byte for the decision and direction, a varint length
/// and its detail text with the phrases presync writes (and Graph's and
/// Connect's status names) replaced by one-byte codes. A typical entry
/// takes about 12 bytes instead of 60-70, so 50 entries fit in about
/// 600 bytes. entries() builds the entries on demand (the API, the CLI and
/// tests read journals rarely).
class journal {
 public:
  explicit journal(size_t capacity = 50)
    : capacity_(static_cast<uint32_t>(capacity)) {}

  /// Appends `e`, dropping the oldest entry past capacity. A detail
  /// longer than 65,535 bytes is cut there.
  void add(const journal_entry& e);

  /// Keeps at most `capacity` entries from now on (the newest ones).
  void set_capacity(size_t capacity);

  /// Returns the entries, oldest first.
  journal_entry_list entries() const;

  /// Returns how many entries the journal holds.
  size_t size() const { return count_; }

  /// Returns the bytes the packed entries take.
  size_t packed_bytes() const { return bytes_.size(); }

 private:
  void drop_oldest();

  /// The instant the first entry's difference is counted from: the
  /// instant of the last entry dropped (or 0).
  int64_t base_ms_ = 0;
  /// The instant of the newest entry (base_ms_ when there is none), which
  /// the next entry is counted from.
  int64_t last_ms_ = 0;
  uint32_t capacity_;
  uint32_t count_ = 0;
  std::string bytes_; ///< packed entries, oldest first
};

} // namespace presync
