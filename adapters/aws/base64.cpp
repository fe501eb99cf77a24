#include "adapters/aws/base64.hpp"

#include <array>
#include <cstdint>

namespace presync::aws {

namespace {

constexpr std::string_view alphabet =
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Returns the 6-bit value of `ch`, or -1 outside the alphabet.
int sextet(char ch) {
  if (ch >= 'A' && ch <= 'Z') {
    return ch - 'A';
  }
  if (ch >= 'a' && ch <= 'z') {
    return ch - 'a' + 26;
  }
  if (ch >= '0' && ch <= '9') {
    return ch - '0' + 52;
  }
  if (ch == '+') {
    return 62;
  }
  if (ch == '/') {
    return 63;
  }
  return -1;
}

error bad_base64(std::string what, size_t offset) {
  return make_error(sync_error::malformed,
                    "base64: " + what + " at offset " + std::to_string(offset));
}

} // namespace

expected<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) {
    return make_error(sync_error::malformed, "base64: length " +
                                               std::to_string(text.size()) +
                                               " is not a multiple of 4");
  }

  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    bool last = i + 4 == text.size();
    size_t pad = 0;
    if (last && text[i + 3] == '=') {
      pad = text[i + 2] == '=' ? 2 : 1;
    }
    uint32_t group = 0;
    for (size_t j = 0; j < 4; ++j) {
      char ch = text[i + j];
      if (j >= 4 - pad) {
        group <<= 6;
        continue;
      }
      int v = sextet(ch);
      if (v < 0) {
        return bad_base64(ch == '=' ? "misplaced padding" : "invalid character",
                          i + j);
      }
      group = (group << 6) | static_cast<uint32_t>(v);
    }

    // Padding must hide only zero bits, or two encodings would decode to
    // the same bytes.
    if ((pad == 1 && (group & 0xff) != 0) ||
        (pad == 2 && (group & 0xffff) != 0)) {
      return bad_base64("non-zero bits before padding", i);
    }
    out += static_cast<char>((group >> 16) & 0xff);
    if (pad < 2) {
      out += static_cast<char>((group >> 8) & 0xff);
    }
    if (pad < 1) {
      out += static_cast<char>(group & 0xff);
    }
  }
  return out;
}

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    size_t n = bytes.size() - i < 3 ? bytes.size() - i : 3;
    uint32_t group = 0;
    for (size_t j = 0; j < 3; ++j) {
      group <<= 8;
      if (j < n) {
        group |= static_cast<unsigned char>(bytes[i + j]);
      }
    }
    out += alphabet[(group >> 18) & 0x3f];
    out += alphabet[(group >> 12) & 0x3f];
    out += n > 1 ? alphabet[(group >> 6) & 0x3f] : '=';
    out += n > 2 ? alphabet[group & 0x3f] : '=';
  }
  return out;
}

} // namespace presync::aws
