#include "adapters/connect/internal/strict_json.hpp"

#include <simdjson.h>

#include <array>
#include <bit>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace presync::connect::internal {

namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool is_hex_digit(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

} // namespace

void strict_json_reader::skip_whitespace() {
  while (p_ < end_ &&
         (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) {
    ++p_;
  }
}

bool strict_json_reader::begin_object() {
  skip_whitespace();
  if (p_ == end_ || *p_ != '{') {
    return false;
  }
  ++p_;
  return true;
}

bool strict_json_reader::begin_array() {
  skip_whitespace();
  if (p_ == end_ || *p_ != '[') {
    return false;
  }
  ++p_;
  return true;
}

bool strict_json_reader::next_member(bool& first, bool& done,
                                     std::string_view& key) {
  skip_whitespace();
  if (p_ == end_) {
    return false;
  }
  if (*p_ == '}') {
    ++p_;
    first = false;
    done = true;
    return true;
  }
  if (!first) {
    if (*p_ != ',') {
      return false;
    }
    ++p_;
    skip_whitespace();
  }
  first = false;
  done = false;

  // The key, then the colon; the reader stops before the value.
  bool escaped = false;
  if (!scan_string(key, escaped) || escaped) {
    return false;
  }
  skip_whitespace();
  if (p_ == end_ || *p_ != ':') {
    return false;
  }
  ++p_;
  skip_whitespace();
  return true;
}

bool strict_json_reader::next_element(bool& first, bool& done) {
  skip_whitespace();
  if (p_ == end_) {
    return false;
  }
  if (*p_ == ']') {
    ++p_;
    first = false;
    done = true;
    return true;
  }
  if (!first) {
    if (*p_ != ',') {
      return false;
    }
    ++p_;
    skip_whitespace();
  }
  first = false;
  done = false;
  return true;
}

bool strict_json_reader::read_string(std::string_view& out) {
  skip_whitespace();
  bool escaped = false;
  return scan_string(out, escaped) && !escaped;
}

bool strict_json_reader::take_null() {
  skip_whitespace();
  if (end_ - p_ >= 4 && std::memcmp(p_, "null", 4) == 0) {
    p_ += 4;
    return true;
  }
  return false;
}

bool strict_json_reader::at_valid_end(std::string_view text) {
  skip_whitespace();
  if (p_ != end_) {
    return false;
  }
  return !non_ascii_ || simdjson::validate_utf8(text.data(), text.size());
}

bool strict_json_reader::skip_value(int depth) {
  skip_whitespace();
  if (p_ == end_) {
    return false;
  }
  switch (*p_) {
  case '"': {
    std::string_view text;
    bool escaped = false;
    return scan_string(text, escaped);
  }
  case '{':
  case '[':
#if defined(__SSE2__)
    (void)depth;
    return skip_container();
#else
    return *p_ == '{' ? skip_object(depth) : skip_array(depth);
#endif
  case 't':
    return skip_literal("true");
  case 'f':
    return skip_literal("false");
  case 'n':
    return skip_literal("null");
  default:
    return skip_number();
  }
}

bool strict_json_reader::skip_object(int depth) {
  if (depth >= max_depth) {
    return false;
  }
  ++p_;
  bool first = true;
  for (;;) {
    bool done = false;
    std::string_view key;
    if (!next_member(first, done, key)) {
      return false;
    }
    if (done) {
      return true;
    }
    if (!skip_value(depth + 1)) {
      return false;
    }
  }
}

bool strict_json_reader::skip_array(int depth) {
  if (depth >= max_depth) {
    return false;
  }
  ++p_;
  bool first = true;
  for (;;) {
    bool done = false;
    if (!next_element(first, done)) {
      return false;
    }
    if (done) {
      return true;
    }
    if (!skip_value(depth + 1)) {
      return false;
    }
  }
}

#if defined(__SSE2__)
namespace {

/// The bits set in a 32-bit mask (baseline x86-64 has no POPCNT).
int count_bits(uint32_t mask) {
  static constexpr auto table = [] {
    std::array<uint8_t, 256> t{};
    for (unsigned i = 0; i < 256; ++i) {
      t[i] = static_cast<uint8_t>((i & 1) + t[i / 2]);
    }
    return t;
  }();
  return table[mask & 0xFF] + table[(mask >> 8) & 0xFF] +
         table[(mask >> 16) & 0xFF] + table[mask >> 24];
}

uint32_t bits_of(__m128i bytes) {
  return static_cast<uint32_t>(_mm_movemask_epi8(bytes));
}

} // namespace

bool strict_json_reader::skip_container() {
  // Locals, as in scan_string().
  const char* p = p_ + 1;
  const char* const end = end_;
  bool high_seen = false;
  int depth = 1;
  uint32_t in_string = 0; // 1 if the last chunk ended inside a string
  while (end - p >= 32) {
    // One bit per byte of the 32 at p_, from two SSE2 loads.
    auto lo = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    auto hi = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16));
    auto bits = [&lo, &hi](auto test) {
      return bits_of(test(lo)) | bits_of(test(hi)) << 16;
    };
    auto equal = [&bits](char c) {
      return bits(
        [c](__m128i v) { return _mm_cmpeq_epi8(v, _mm_set1_epi8(c)); });
    };
    if (equal('\\') != 0) {
      return false;
    }

    // Inside a string: an odd number of quotes up to and including the
    // byte (a prefix XOR), the opening quote included.
    uint32_t inside = equal('"');
    inside ^= inside << 1;
    inside ^= inside << 2;
    inside ^= inside << 4;
    inside ^= inside << 8;
    inside ^= inside << 16;
    inside ^= 0u - in_string;
    in_string = inside >> 31;

    // Control bytes are only whitespace outside strings; bytes >= 0x80
    // only inside them. (A signed compare also takes bytes >= 0x80.)
    auto high = bits([](__m128i v) { return v; });
    auto control =
      bits([](__m128i v) { return _mm_cmplt_epi8(v, _mm_set1_epi8(0x20)); }) &
      ~high;
    if ((control | high) != 0) {
      auto space = equal('\t') | equal('\n') | equal('\r');
      if (((control & ~space) | (control & inside) | (high & ~inside)) != 0) {
        return false;
      }
      high_seen = high_seen || high != 0;
    }

    // '{' and '[' differ only in bit 0x20, as do '}' and ']'.
    auto folded = [](char c) {
      return [c](__m128i v) {
        return _mm_cmpeq_epi8(_mm_or_si128(v, _mm_set1_epi8(0x20)),
                              _mm_set1_epi8(c));
      };
    };
    uint32_t open = bits(folded('{')) & ~inside;
    uint32_t close = bits(folded('}')) & ~inside;
    if (close == 0 || count_bits(close) < depth) {
      depth += count_bits(open) - count_bits(close);
      if (depth > max_depth) {
        return false;
      }
      p += 32;
      continue;
    }

    // The container may end in this chunk: follow its brackets in order.
    for (uint32_t brackets = open | close; brackets != 0;
         brackets &= brackets - 1) {
      auto at = std::countr_zero(brackets);
      depth += (open >> at & 1u) != 0 ? 1 : -1;
      if (depth == 0) {
        p_ = p + at + 1;
        non_ascii_ = non_ascii_ || high_seen;
        return true;
      }
    }
    if (depth > max_depth) {
      return false;
    }
    p += 32;
  }
  p_ = p;
  non_ascii_ = non_ascii_ || high_seen;
  return skip_container_tail(depth, in_string != 0);
}
#endif

bool strict_json_reader::skip_container_tail(int depth, bool in_string) {
  for (; p_ < end_; ++p_) {
    auto c = static_cast<unsigned char>(*p_);
    if (c == '\\') {
      return false;
    }
    if (in_string) {
      if (c < 0x20) {
        return false;
      }
      in_string = c != '"';
      non_ascii_ = non_ascii_ || c >= 0x80;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > max_depth) {
        return false;
      }
    } else if (c == '}' || c == ']') {
      if (--depth == 0) {
        ++p_;
        return true;
      }
    } else if (c >= 0x80 ||
               (c < 0x20 && c != ' ' && c != '\t' && c != '\n' && c != '\r')) {
      return false;
    }
  }
  return false;
}

bool strict_json_reader::skip_literal(std::string_view word) {
  if (static_cast<size_t>(end_ - p_) < word.size() ||
      std::memcmp(p_, word.data(), word.size()) != 0) {
    return false;
  }
  p_ += word.size();
  return true;
}

bool strict_json_reader::skip_number() {
  // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?; what follows is the
  // caller's to check (a comma, a bracket or whitespace).
  auto digits = [this] {
    if (p_ == end_ || !is_digit(*p_)) {
      return false;
    }
    while (p_ < end_ && is_digit(*p_)) {
      ++p_;
    }
    return true;
  };
  if (p_ < end_ && *p_ == '-') {
    ++p_;
  }
  if (p_ < end_ && *p_ == '0') {
    ++p_;
  } else if (!digits()) {
    return false;
  }
  if (p_ < end_ && *p_ == '.') {
    ++p_;
    if (!digits()) {
      return false;
    }
  }
  if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
    ++p_;
    if (p_ < end_ && (*p_ == '+' || *p_ == '-')) {
      ++p_;
    }
    if (!digits()) {
      return false;
    }
  }
  return true;
}

bool strict_json_reader::scan_string(std::string_view& out, bool& escaped) {
  if (p_ == end_ || *p_ != '"') {
    return false;
  }
  const char* start = ++p_;
  escaped = false;
  for (;;) {
#if defined(__SSE2__)
    while (end_ - p_ >= 16) {
      auto v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p_));
      auto quote = _mm_cmpeq_epi8(v, _mm_set1_epi8('"'));
      auto backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'));
      auto below = _mm_cmplt_epi8(v, _mm_set1_epi8(0x20));
      auto high = static_cast<unsigned>(_mm_movemask_epi8(v));
      auto stop = static_cast<unsigned>(
                    _mm_movemask_epi8(_mm_or_si128(quote, backslash))) |
                  (static_cast<unsigned>(_mm_movemask_epi8(below)) & ~high);
      non_ascii_ = non_ascii_ || high != 0;
      if (stop != 0) {
        p_ += std::countr_zero(stop);
        break;
      }
      p_ += 16;
    }
#endif
    while (p_ < end_) {
      auto c = static_cast<unsigned char>(*p_);
      if (c == '"' || c == '\\' || c < 0x20) {
        break;
      }
      non_ascii_ = non_ascii_ || c >= 0x80;
      ++p_;
    }
    if (p_ == end_) {
      return false;
    }
    if (*p_ == '"') {
      out = std::string_view{start, static_cast<size_t>(p_ - start)};
      ++p_;
      return true;
    }
    if (*p_ != '\\' || !skip_escape()) {
      return false;
    }
    escaped = true;
  }
}

bool strict_json_reader::skip_escape() {
  ++p_;
  if (p_ == end_) {
    return false;
  }
  switch (*p_) {
  case '"':
  case '\\':
  case '/':
  case 'b':
  case 'f':
  case 'n':
  case 'r':
  case 't':
    ++p_;
    return true;
  case 'u':
    if (end_ - p_ < 5 || !is_hex_digit(p_[1]) || !is_hex_digit(p_[2]) ||
        !is_hex_digit(p_[3]) || !is_hex_digit(p_[4])) {
      return false;
    }
    p_ += 5;
    return true;
  default:
    return false;
  }
}

} // namespace presync::connect::internal
