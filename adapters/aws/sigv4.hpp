// AWS Signature Version 4, header signing (spec/connect.md §3).
//
// One signer for Connect and Kinesis. It returns every intermediate string
// so tests can compare each of them with the suite byte for byte. S3 is out
// of scope: paths are always encoded a second time, as every other service
// expects.
#pragma once

#include "adapters/aws/secret_string.hpp"
#include "protocol/error.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace presync::aws {

/// One HTTP header as it will be sent; names compare case-insensitively.
struct http_header {
  std::string name;
  std::string value;

  friend bool operator==(const http_header&, const http_header&) = default;
};

/// AWS credentials. The session token is empty for long-term keys.
struct credentials {
  std::string access_key_id;
  secret_string secret_access_key;
  secret_string session_token;
};

/// The request to sign, as it will go on the wire.
struct signing_request {
  std::string method;               ///< GET, PUT, POST, ...
  std::string path;                 ///< as sent (already percent-encoded)
  std::string query;                ///< as sent, without '?'; may be empty
  std::vector<http_header> headers; ///< must hold Host
  std::string body;
};

/// Where and when the request is signed.
struct signing_params {
  std::string region;  ///< e.g. us-east-1
  std::string service; ///< connect, kinesis
  std::chrono::sys_seconds time{};
  /// Removes `.` and `..` segments and repeated `/` before encoding.
  bool normalize_path = true;
  /// Puts X-Amz-Security-Token into the canonical request (what the SDKs do
  /// for Connect and Kinesis); false adds it after signing.
  bool sign_session_token = true;
  /// Adds a signed x-amz-content-sha256 header (S3 style; off here).
  bool add_content_sha256 = false;
};

/// Everything the signer computed, in the order it computed it. The
/// signature, the Authorization value and the token header are secrets in
/// the sense of STYLE.md: send them, never log them.
struct signing_result {
  std::string amz_date;          ///< 20150830T123600Z
  std::string canonical_request; ///< no trailing newline
  std::string signed_headers;    ///< host;x-amz-date
  std::string credential_scope;  ///< 20150830/us-east-1/service/aws4_request
  std::string string_to_sign;    ///< no trailing newline
  std::string signature;         ///< 64 lower-case hex characters
  std::string authorization;     ///< the Authorization header's value
  /// Headers to add to the request, in this order: X-Amz-Date,
  /// X-Amz-Security-Token (with session credentials),
  /// x-amz-content-sha256 (when asked), Authorization.
  std::vector<http_header> added_headers;
};

/// Signs `request`. Headers already named X-Amz-Date, Authorization or (with
/// a session token) X-Amz-Security-Token are replaced, not signed twice.
/// Fails with config_invalid on missing credentials, region or service, and
/// with rejected when the request has no Host header.
[[nodiscard]] expected<signing_result>
sign_request(const signing_request& request, const credentials& creds,
             const signing_params& params);

/// Returns `request` with the signer's headers added (drops the headers
/// sign_request replaces), ready to send.
signing_request apply_signature(const signing_request& request,
                                const signing_result& result);

// -- Building blocks, public for tests --------------------------------------

/// Formats `t` as YYYYMMDD'T'HHMMSS'Z'.
std::string format_amz_date(std::chrono::sys_seconds t);

/// Parses 2015-08-30T12:36:00Z (seconds; a fraction is ignored).
std::optional<std::chrono::sys_seconds> parse_iso8601(std::string_view text);

/// Returns the canonical URI: optionally dot-segment-normalised, then every
/// byte but A-Z a-z 0-9 - _ . ~ / percent-encoded (so `%` becomes `%25`).
std::string canonical_uri(std::string_view path, bool normalize);

/// Returns the canonical query: items split at the first '=', decoded,
/// re-encoded, sorted by name then value, joined with '&'.
std::string canonical_query(std::string_view query);

/// Percent-encodes every byte but A-Z a-z 0-9 - _ . ~ (and '/' if asked).
std::string uri_encode(std::string_view text, bool keep_slash);

/// Returns the lower-case hex SHA-256 of `bytes`.
std::string sha256_hex(std::string_view bytes);

/// Returns the raw 32-byte HMAC-SHA256 of `data` under `key`.
std::string hmac_sha256(std::string_view key, std::string_view data);

/// Returns the raw signing key for (secret, date YYYYMMDD, region, service).
std::string derive_signing_key(const secret_string& secret,
                               std::string_view date, std::string_view region,
                               std::string_view service);

} // namespace presync::aws
