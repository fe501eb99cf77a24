// Base64 (RFC 4648, standard alphabet, padded) for Kinesis record blobs.
#pragma once

#include "protocol/error.hpp"

#include <string>
#include <string_view>

namespace presync::aws {

/// Decodes standard, padded base64. Rejects a length that is not a
/// multiple of four, characters outside the alphabet, misplaced padding and
/// non-zero bits after the last byte, naming the offending offset.
[[nodiscard]] expected<std::string> base64_decode(std::string_view text);

/// Encodes bytes as standard, padded base64.
std::string base64_encode(std::string_view bytes);

} // namespace presync::aws
