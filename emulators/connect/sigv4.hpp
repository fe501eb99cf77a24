// AWS Signature Version 4 for the Connect emulator: it verifies the
// signatures of incoming requests and signs its own Kinesis calls.
// Written from ../shared/spec/connect.md section 3.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace presync::connect_emulator::sigv4 {

/// One HTTP request as it travels on the wire.
struct request {
  std::string method;
  std::string target; ///< path and query exactly as sent
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

/// Credentials used to sign a request.
struct credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token; ///< empty when not a session
};

/// The parsed parts of an `Authorization: AWS4-HMAC-SHA256 ...` header.
struct authorization {
  std::string access_key_id;
  std::string date; ///< YYYYMMDD of the credential scope
  std::string region;
  std::string service;
  std::string terminator;
  std::vector<std::string> signed_headers;
  std::string signature;
};

/// The outcome of verifying a request, in the shape AWS reports it.
struct verdict {
  bool ok = false;
  int status = 0;
  std::string code;
  std::string message;
};

/// Returns the lower-case hex SHA-256 of `data`.
std::string sha256_hex(std::string_view data);

/// Returns the raw HMAC-SHA256 of `data` under `key`.
std::string hmac_sha256(std::string_view key, std::string_view data);

/// Returns the canonical URI of `path` (double encoding, optional
/// dot-segment normalisation).
std::string canonical_uri(std::string_view path, bool normalize);

/// Returns the canonical query string of `query` (without the `?`).
std::string canonical_query(std::string_view query);

/// Builds the canonical request over the named signed headers.
std::string canonical_request(const request& req,
                              const std::vector<std::string>& signed_headers,
                              bool normalize);

/// Builds the string to sign.
std::string string_to_sign(std::string_view amz_date, std::string_view scope,
                           std::string_view canonical);

/// Computes the hex signature of `to_sign`.
std::string signature(std::string_view secret, std::string_view date,
                      std::string_view region, std::string_view service,
                      std::string_view to_sign);

/// Parses an Authorization header; on failure returns nothing and sets
/// `why` to what is missing.
std::optional<authorization> parse_authorization(std::string_view value,
                                                 std::string& why);

/// Signs `req` in place: adds X-Amz-Date, the session token when given and
/// Authorization, signing every header except the hop-by-hop ones.
void sign(request& req, const credentials& creds, std::string_view region,
          std::string_view service, std::int64_t now_ms);

/// Looks up the secret of an access key id; nothing when unknown.
using secret_lookup =
  std::function<std::optional<std::string>(std::string_view access_key_id)>;

/// Verification settings.
struct verify_options {
  std::string region;
  std::string service;
  std::int64_t max_skew_ms = 5 * 60 * 1000;
  bool normalize = true;
};

/// Verifies the SigV4 Authorization header of `req` against the emulator
/// clock `now_ms`.
verdict verify(const request& req, const secret_lookup& lookup,
               const verify_options& opts, std::int64_t now_ms);

} // namespace presync::connect_emulator::sigv4
