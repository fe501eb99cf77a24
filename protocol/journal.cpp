#include "protocol/journal.hpp"

#include <algorithm>
#include <array>
#include <string_view>
#include <utility>
#include <vector>

namespace presync {

namespace {

constexpr std::array<std::string_view, decision_count> names = {
  "propagated", "held",     "superseded", "echo",     "loop_paused",  "no_rule",
  "ignored",    "deferred", "unchanged",  "restored", "rate_limited", "failed",
};

} // namespace

std::string_view to_string(decision d) {
  return names[static_cast<size_t>(d)];
}

std::optional<decision> parse_decision(std::string_view text) {
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == text) {
      return static_cast<decision>(i);
    }
  }
  return std::nullopt;
}

namespace {

// -- detail text ------------------------------------------------------------
//
// A detail is stored with each phrase of this table replaced by one byte,
// 0x80 plus its index; a byte of the text that is 0x01 or 0x80 and above
// (UTF-8 in a custom status name) is stored as 0x01 and the byte itself.
// The journal is never stored, so the table may change between builds.

constexpr std::array<std::string_view, 128> phrases = {
  // Sentences and fragments protocol/person*.cpp write.
  "Connect event older than one already applied",
  "Teams observation older than one already applied",
  "direction connect_to_teams is switched off",
  "direction teams_to_connect is switched off",
  "Connect went back to what Teams shows",
  "Connect went back to the queued value",
  "Teams gave way to presync's own value",
  "no restore: nothing restorable was replaced",
  "no restore: the agent changed status since presync set ",
  " writes answered each other; sync paused until ",
  " by a write withdrawn too late to stop",
  " only applies when Connect is in ",
  "the rule's states, not ",
  "no connect_to_teams entry for ",
  "no teams_to_connect entry for ",
  "Connect state has no rule",
  "Teams key has no rule",
  "Teams key is ignored",
  "Teams key matches ",
  "Teams key ",
  " is a new intent",
  " recorded while paused",
  "session already shows ",
  "Teams session set to ",
  "Teams session in doubt: ",
  "; written again",
  " never reached the store",
  "the answer to ",
  "a withdrawn write of ",
  " may have landed",
  "Connect next status set to ",
  "Connect status set to ",
  "agent already has ",
  "queued write of ",
  " withdrawn: ",
  " withdrawn",
  " is already queued",
  "deferral replaced by Teams ",
  "deferred: no rule for Teams ",
  "deferred: rule ",
  " now says ignore",
  " says ignore",
  "restore waits: agent is ",
  " waits: agent is ",
  " waits for the rate limit",
  " throttled (HTTP ",
  "), retried later",
  " given up (HTTP ",
  " no longer asks for it",
  " asks for a status again",
  " is presync's own ",
  "end of match: ",
  "end of ",
  "hold for ",
  "replaced by ",
  "the agent chose ",
  "chain of ",
  " again",
  " until ",
  " -> ",
  "Connect ",
  "Teams ",
  "rule ",
  " now",
  "clear",
  "ms",
  // Teams presences as Graph spells them (spec/graph.md).
  "Available/Available",
  "Away/Away",
  "BeRightBack/BeRightBack",
  "Busy/Busy",
  "Busy/InACall",
  "Busy/InAConferenceCall",
  "Busy/InAMeeting",
  "DoNotDisturb/Presenting",
  "DoNotDisturb/DoNotDisturb",
  "Offline/Offline",
  "Offline/OffWork",
  "PresenceUnknown/PresenceUnknown",
  "AvailableIdle",
  "AvailableInactive",
  "BusyIdle",
  "BeRightBack",
  "DoNotDisturb",
  "PresenceUnknown",
  "InAConferenceCall",
  "InACall",
  "InAMeeting",
  "Presenting",
  "OutOfOffice",
  "OffWork",
  "Inactive",
  "UrgentInterruptionsOnly",
  "Focusing",
  "Available",
  "Offline",
  "Away",
  "Busy",
  // Connect's effective states and common agent statuses.
  "AfterContactWork",
  "OnContact",
  "Incoming",
  "LoggedOut",
  "Missed",
  "Error",
  "Lunch",
  "Break",
  "Training",
  "Meeting",
  // Words the phrases above leave.
  " the ",
  " is ",
  " of ",
  " to ",
  " for ",
  " set ",
  "write",
  "status",
  "agent",
  "presync",
  "session",
  "Connect",
  "Teams",
  "rule",
  "hold",
  "HTTP",
  "00",
  ": ",
  ", ",
  " (",
  "))",
};

constexpr unsigned char literal_escape = 0x01;
constexpr unsigned char first_code = 0x80;

// Every phrase has two bytes at least, so that the first two bytes of the
// text at a position say which phrases may start there.
static_assert(std::ranges::all_of(phrases, [](std::string_view p) {
  return p.size() >= 2;
}));

/// The phrases by a hash of their first two bytes, each bucket longest
/// first (and in table order among equals), so that the encoder tries few
/// of them at each position, in the order that decides which one wins.
struct phrase_index {
  static constexpr size_t buckets = 512;

  /// The phrases of bucket b are order[first[b]] to order[first[b + 1]].
  std::array<uint8_t, buckets + 1> first{};
  std::array<uint8_t, phrases.size()> order{};

  static size_t bucket(unsigned char a, unsigned char b) {
    return (a * 31u + b) % buckets;
  }

  phrase_index() {
    std::array<uint8_t, phrases.size()> sorted{};
    for (size_t i = 0; i < phrases.size(); ++i) {
      sorted[i] = static_cast<uint8_t>(i);
    }
    std::stable_sort(sorted.begin(), sorted.end(), [](uint8_t a, uint8_t b) {
      return phrases[a].size() > phrases[b].size();
    });
    std::array<uint8_t, buckets + 1> count{};
    for (auto i : sorted) {
      ++count[key_of(i) + 1];
    }
    for (size_t b = 0; b < buckets; ++b) {
      first[b + 1] = static_cast<uint8_t>(first[b] + count[b + 1]);
    }
    auto next = first;
    for (auto i : sorted) {
      order[next[key_of(i)]++] = i;
    }
  }

 private:
  static size_t key_of(uint8_t i) {
    return bucket(static_cast<unsigned char>(phrases[i][0]),
                  static_cast<unsigned char>(phrases[i][1]));
  }
};

const phrase_index& index() {
  static const phrase_index i;
  return i;
}

void append_encoded(std::string& out, std::string_view text) {
  const auto& idx = index();
  out.reserve(out.size() + text.size());
  size_t pos = 0;
  while (pos < text.size()) {
    auto c = static_cast<unsigned char>(text[pos]);
    bool coded = false;
    if (pos + 1 < text.size()) {
      auto b =
        phrase_index::bucket(c, static_cast<unsigned char>(text[pos + 1]));
      for (size_t k = idx.first[b]; k < idx.first[b + 1]; ++k) {
        auto i = idx.order[k];
        if (text.substr(pos, phrases[i].size()) == phrases[i]) {
          out += static_cast<char>(first_code + i);
          pos += phrases[i].size();
          coded = true;
          break;
        }
      }
    }
    if (coded) {
      continue;
    }
    if (c == literal_escape || c >= first_code) {
      out += static_cast<char>(literal_escape);
    }
    out += text[pos];
    ++pos;
  }
}

std::string decode(std::string_view packed) {
  std::string out;
  for (size_t pos = 0; pos < packed.size(); ++pos) {
    auto c = static_cast<unsigned char>(packed[pos]);
    if (c >= first_code) {
      out += phrases[c - first_code];
    } else if (c == literal_escape && pos + 1 < packed.size()) {
      out += packed[++pos];
    } else {
      out += packed[pos];
    }
  }
  return out;
}

// -- numbers ----------------------------------------------------------------

void append_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}

uint64_t read_varint(const std::string& in, size_t& pos) {
  uint64_t v = 0;
  for (int shift = 0; pos < in.size(); shift += 7) {
    auto b = static_cast<unsigned char>(in[pos++]);
    v |= static_cast<uint64_t>(b & 0x7F) << shift;
    if (b < 0x80) {
      break;
    }
  }
  return v;
}

uint64_t zigzag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}

int64_t unzigzag(uint64_t v) {
  return static_cast<int64_t>((v >> 1) ^ (~(v & 1) + 1));
}

/// a + b and a - b with the wrap-around of unsigned arithmetic: instants
/// far apart must not overflow.
int64_t wrapping_add(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) +
                              static_cast<uint64_t>(b));
}
int64_t wrapping_sub(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) -
                              static_cast<uint64_t>(b));
}

/// One packed entry as read: where its detail is and where the next
/// entry starts.
struct packed_entry {
  int64_t delta_ms = 0;
  uint8_t what_dir = 0;
  size_t detail_at = 0;
  size_t detail_size = 0;
  size_t next = 0;
};

packed_entry read_entry(const std::string& bytes, size_t pos) {
  packed_entry e;
  e.delta_ms = unzigzag(read_varint(bytes, pos));
  e.what_dir = static_cast<uint8_t>(bytes[pos++]);
  e.detail_size = static_cast<size_t>(read_varint(bytes, pos));
  e.detail_at = pos;
  e.next = pos + e.detail_size;
  return e;
}

} // namespace

void journal::add(const journal_entry& e) {
  if (capacity_ == 0) {
    return;
  }
  if (count_ == capacity_) {
    drop_oldest();
  }

  // Encoded in a buffer of the thread's that keeps its capacity: a
  // decision is noted on every input.
  thread_local std::string detail;
  thread_local std::string entry;
  detail.clear();
  entry.clear();
  append_encoded(detail, std::string_view{e.detail}.substr(0, UINT16_MAX));
  auto at_ms = static_cast<int64_t>(e.at.time_since_epoch().count());
  auto what_dir = static_cast<uint8_t>(static_cast<unsigned>(e.what) << 1 |
                                       static_cast<unsigned>(e.dir));

  // Grow by what is needed only: most journals never fill up.
  append_varint(entry, zigzag(wrapping_sub(at_ms, last_ms_)));
  last_ms_ = at_ms;
  entry += static_cast<char>(what_dir);
  append_varint(entry, detail.size());
  auto need = bytes_.size() + entry.size() + detail.size();
  if (need > bytes_.capacity()) {
    bytes_.reserve(std::max(need, bytes_.capacity() + bytes_.capacity() / 4));
  }
  bytes_ += entry;
  bytes_ += detail;
  ++count_;
}

void journal::drop_oldest() {
  auto p = read_entry(bytes_, 0);
  base_ms_ = wrapping_add(base_ms_, p.delta_ms);
  bytes_.erase(0, p.next);
  --count_;
}

void journal::set_capacity(size_t capacity) {
  capacity_ = static_cast<uint32_t>(std::min<size_t>(capacity, UINT32_MAX));
  while (count_ > capacity_) {
    drop_oldest();
  }
  if (count_ == 0) {
    bytes_.clear();
    bytes_.shrink_to_fit();
  }
}

journal_entry_list journal::entries() const {
  std::vector<journal_entry> out;
  out.reserve(count_);
  auto at_ms = base_ms_;
  for (size_t pos = 0; pos < bytes_.size();) {
    auto p = read_entry(bytes_, pos);
    at_ms = wrapping_add(at_ms, p.delta_ms);
    out.push_back(
      {mono_time{duration{at_ms}}, static_cast<decision>(p.what_dir >> 1),
       static_cast<direction>(p.what_dir & 1),
       decode(std::string_view{bytes_}.substr(p.detail_at, p.detail_size))});
    pos = p.next;
  }
  return journal_entry_list{std::move(out)};
}

std::string_view to_string(direction d) {
  return d == direction::connect_to_teams ? "connect_to_teams"
                                          : "teams_to_connect";
}

} // namespace presync
