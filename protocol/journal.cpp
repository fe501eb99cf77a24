#include "protocol/journal.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

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

/// One packed entry's header; its detail text follows it.
struct packed_header {
  int64_t at_ms;
  uint8_t what;
  uint8_t dir;
  uint16_t detail_size;
};
constexpr size_t header_size = 12;

packed_header read_header(const char* p) {
  packed_header h{};
  std::memcpy(&h.at_ms, p, 8);
  std::memcpy(&h.what, p + 8, 1);
  std::memcpy(&h.dir, p + 9, 1);
  std::memcpy(&h.detail_size, p + 10, 2);
  return h;
}

} // namespace

void journal::add(const journal_entry& e) {
  if (capacity_ == 0) {
    return;
  }
  if (count_ == capacity_) {
    drop_oldest();
  }

  auto size = std::min<size_t>(e.detail.size(), UINT16_MAX);
  char header[header_size];
  auto at_ms = static_cast<int64_t>(e.at.time_since_epoch().count());
  auto what = static_cast<uint8_t>(e.what);
  auto dir = static_cast<uint8_t>(e.dir);
  auto detail_size = static_cast<uint16_t>(size);
  std::memcpy(header, &at_ms, 8);
  std::memcpy(header + 8, &what, 1);
  std::memcpy(header + 9, &dir, 1);
  std::memcpy(header + 10, &detail_size, 2);

  // Grow by what is needed only: most journals never fill up.
  auto need = bytes_.size() + header_size + size;
  if (need > bytes_.capacity()) {
    bytes_.reserve(std::max(need, bytes_.capacity() + bytes_.capacity() / 4));
  }
  bytes_.append(header, header_size);
  bytes_.append(e.detail.data(), size);
  ++count_;
}

void journal::drop_oldest() {
  auto h = read_header(bytes_.data());
  bytes_.erase(0, header_size + h.detail_size);
  --count_;
}

void journal::set_capacity(size_t capacity) {
  capacity_ = capacity;
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
  size_t pos = 0;
  while (pos < bytes_.size()) {
    auto h = read_header(bytes_.data() + pos);
    pos += header_size;
    out.push_back({mono_time{duration{h.at_ms}}, static_cast<decision>(h.what),
                   static_cast<direction>(h.dir),
                   bytes_.substr(pos, h.detail_size)});
    pos += h.detail_size;
  }
  return journal_entry_list{std::move(out)};
}

std::string_view to_string(direction d) {
  return d == direction::connect_to_teams ? "connect_to_teams"
                                          : "teams_to_connect";
}

} // namespace presync
