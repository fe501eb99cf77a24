#include "emulators/connect/sigv4.hpp"

#include "emulators/connect/util.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cctype>
#include <map>

namespace presync::connect_emulator::sigv4 {

namespace {

constexpr std::string_view algorithm = "AWS4-HMAC-SHA256";

std::string to_hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  });
  return out;
}

bool is_unreserved(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ||
         c == '.' || c == '~';
}

std::string encode(std::string_view text, bool keep_slash) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    if (is_unreserved(c) || (keep_slash && c == '/')) {
      out += c;
    } else {
      const auto b = static_cast<unsigned char>(c);
      out += '%';
      out += digits[b >> 4];
      out += digits[b & 15];
    }
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

std::string decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() + 0 &&
        hex_value(text[i + 1]) >= 0 && hex_value(text[i + 2]) >= 0) {
      out +=
        static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::string normalize_path(std::string_view path) {
  std::vector<std::string_view> segments;
  std::size_t pos = 0;
  while (pos <= path.size()) {
    const std::size_t next = std::min(path.find('/', pos), path.size());
    const std::string_view seg = path.substr(pos, next - pos);
    if (seg == "..") {
      if (!segments.empty()) {
        segments.pop_back();
      }
    } else if (!seg.empty() && seg != ".") {
      segments.push_back(seg);
    }
    pos = next + 1;
  }
  std::string out;
  for (const auto seg : segments) {
    out += '/';
    out += seg;
  }
  if (out.empty()) {
    return "/";
  }
  const bool trailing =
    path.back() == '/' || path.ends_with("/.") || path.ends_with("/..");
  if (trailing) {
    out += '/';
  }
  return out;
}

// Trims and collapses whitespace runs (including folded line breaks).
std::string canonical_value(std::string_view value) {
  std::string out;
  bool space = false;
  for (const char c : value) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      space = !out.empty();
    } else {
      if (space) {
        out += ' ';
        space = false;
      }
      out += c;
    }
  }
  return out;
}

// Headers the AWS signers leave out because proxies may change them.
bool is_unsigned_header(std::string_view lower_name) {
  static constexpr std::string_view skipped[] = {"authorization",
                                                 "connection",
                                                 "expect",
                                                 "keep-alive",
                                                 "proxy-authenticate",
                                                 "proxy-authorization",
                                                 "te",
                                                 "trailer",
                                                 "transfer-encoding",
                                                 "upgrade",
                                                 "user-agent",
                                                 "x-amzn-trace-id"};
  return std::find(std::begin(skipped), std::end(skipped), lower_name) !=
         std::end(skipped);
}

std::optional<std::string> header_value(const request& req,
                                        std::string_view lower_name) {
  for (const auto& [name, value] : req.headers) {
    if (lower(name) == lower_name) {
      return canonical_value(value);
    }
  }
  return std::nullopt;
}

verdict reject(int status, std::string code, std::string message) {
  return {false, status, std::move(code), std::move(message)};
}

} // namespace

std::string sha256_hex(std::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(),
         digest);
  return to_hex({reinterpret_cast<const char*>(digest), sizeof digest});
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest,
       &length);
  return {reinterpret_cast<const char*>(digest), length};
}

std::string canonical_uri(std::string_view path, bool normalize) {
  if (path.empty()) {
    return "/";
  }
  if (normalize) {
    return encode(normalize_path(path), true);
  }
  return encode(path, true);
}

std::string canonical_query(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> items;
  std::size_t pos = 0;
  while (pos < query.size()) {
    const std::size_t next = std::min(query.find('&', pos), query.size());
    const std::string_view item = query.substr(pos, next - pos);
    if (!item.empty()) {
      const std::size_t eq = item.find('=');
      const std::string_view name = item.substr(0, eq);
      const std::string_view value =
        eq == std::string_view::npos ? std::string_view{} : item.substr(eq + 1);
      items.emplace_back(encode(decode(name), false),
                         encode(decode(value), false));
    }
    pos = next + 1;
  }
  std::sort(items.begin(), items.end());
  std::string out;
  for (const auto& [name, value] : items) {
    if (!out.empty()) {
      out += '&';
    }
    out += name;
    out += '=';
    out += value;
  }
  return out;
}

std::string canonical_request(const request& req,
                              const std::vector<std::string>& signed_headers,
                              bool normalize) {
  const std::size_t q = req.target.find('?');
  const std::string_view target = req.target;
  const std::string_view path = target.substr(0, q);
  const std::string_view query =
    q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);

  // Repeated names become one line, values joined by commas in order.
  std::map<std::string, std::string> joined;
  for (const auto& [name, value] : req.headers) {
    const std::string key = lower(name);
    if (std::find(signed_headers.begin(), signed_headers.end(), key) ==
        signed_headers.end()) {
      continue;
    }
    auto [it, fresh] = joined.try_emplace(key, canonical_value(value));
    if (!fresh) {
      it->second += ',';
      it->second += canonical_value(value);
    }
  }

  std::string out = req.method + "\n" + canonical_uri(path, normalize) + "\n" +
                    canonical_query(query) + "\n";
  std::string names;
  for (const auto& name : signed_headers) {
    const auto it = joined.find(name);
    out += name + ":" + (it == joined.end() ? "" : it->second) + "\n";
    names += (names.empty() ? "" : ";") + name;
  }
  out += "\n" + names + "\n" + sha256_hex(req.body);
  return out;
}

std::string string_to_sign(std::string_view amz_date, std::string_view scope,
                           std::string_view canonical) {
  std::string out(algorithm);
  out += '\n';
  out += amz_date;
  out += '\n';
  out += scope;
  out += '\n';
  out += sha256_hex(canonical);
  return out;
}

std::string signature(std::string_view secret, std::string_view date,
                      std::string_view region, std::string_view service,
                      std::string_view to_sign) {
  const std::string k_date = hmac_sha256("AWS4" + std::string(secret), date);
  const std::string k_region = hmac_sha256(k_date, region);
  const std::string k_service = hmac_sha256(k_region, service);
  const std::string k_signing = hmac_sha256(k_service, "aws4_request");
  return to_hex(hmac_sha256(k_signing, to_sign));
}

std::optional<authorization> parse_authorization(std::string_view value,
                                                 std::string& why) {
  if (!value.starts_with(algorithm) || value.size() == algorithm.size() ||
      value[algorithm.size()] != ' ') {
    why = "Authorization header must start with 'AWS4-HMAC-SHA256 '";
    return std::nullopt;
  }
  std::map<std::string, std::string, std::less<>> parts;
  std::string_view rest = value.substr(algorithm.size() + 1);
  while (!rest.empty()) {
    const std::size_t comma = std::min(rest.find(','), rest.size());
    std::string_view part = rest.substr(0, comma);
    rest = comma == rest.size() ? std::string_view{} : rest.substr(comma + 1);
    while (!part.empty() && part.front() == ' ') {
      part.remove_prefix(1);
    }
    while (!part.empty() && part.back() == ' ') {
      part.remove_suffix(1);
    }
    const std::size_t eq = part.find('=');
    if (eq == std::string_view::npos) {
      why = "Authorization header part without '=': '" +
            std::string(part.substr(0, 20)) + "'";
      return std::nullopt;
    }
    parts[std::string(part.substr(0, eq))] = std::string(part.substr(eq + 1));
  }
  for (const char* needed : {"Credential", "SignedHeaders", "Signature"}) {
    if (parts.find(needed) == parts.end()) {
      why = std::string("Authorization header requires '") + needed +
            "' parameter.";
      return std::nullopt;
    }
  }

  authorization auth;
  std::vector<std::string> scope;
  const std::string& cred = parts["Credential"];
  std::size_t pos = 0;
  while (pos <= cred.size()) {
    const std::size_t next = std::min(cred.find('/', pos), cred.size());
    scope.push_back(cred.substr(pos, next - pos));
    pos = next + 1;
  }
  if (scope.size() != 5) {
    why = "Credential must have the form "
          "<key>/<date>/<region>/<service>/aws4_request";
    return std::nullopt;
  }
  auth.access_key_id = scope[0];
  auth.date = scope[1];
  auth.region = scope[2];
  auth.service = scope[3];
  auth.terminator = scope[4];
  const std::string& names = parts["SignedHeaders"];
  pos = 0;
  while (pos < names.size()) {
    const std::size_t next = std::min(names.find(';', pos), names.size());
    auth.signed_headers.push_back(names.substr(pos, next - pos));
    pos = next + 1;
  }
  auth.signature = parts["Signature"];
  return auth;
}

void sign(request& req, const credentials& creds, std::string_view region,
          std::string_view service, std::int64_t now_ms) {
  const std::string date_time = amz_date(now_ms);
  const std::string date = date_time.substr(0, 8);
  req.headers.emplace_back("X-Amz-Date", date_time);
  if (!creds.session_token.empty()) {
    req.headers.emplace_back("X-Amz-Security-Token", creds.session_token);
  }

  std::vector<std::string> names;
  for (const auto& [name, value] : req.headers) {
    const std::string key = lower(name);
    if (!is_unsigned_header(key) &&
        std::find(names.begin(), names.end(), key) == names.end()) {
      names.push_back(key);
    }
  }
  std::sort(names.begin(), names.end());

  const std::string scope = date + "/" + std::string(region) + "/" +
                            std::string(service) + "/aws4_request";
  const std::string canonical = canonical_request(req, names, true);
  const std::string sig =
    signature(creds.secret_access_key, date, region, service,
              string_to_sign(date_time, scope, canonical));
  std::string joined;
  for (const auto& name : names) {
    joined += (joined.empty() ? "" : ";") + name;
  }
  req.headers.emplace_back(
    "Authorization", std::string(algorithm) +
                       " Credential=" + creds.access_key_id + "/" + scope +
                       ", SignedHeaders=" + joined + ", Signature=" + sig);
}

verdict verify(const request& req, const secret_lookup& lookup,
               const verify_options& opts, std::int64_t now_ms) {
  // Header form only: query-string signing is not accepted.
  const auto header = header_value(req, "authorization");
  if (!header) {
    return reject(403, "MissingAuthenticationTokenException",
                  "Missing Authentication Token");
  }
  std::string why;
  const auto auth = parse_authorization(*header, why);
  if (!auth) {
    return reject(400, "IncompleteSignatureException", why);
  }
  const auto date_header = header_value(req, "x-amz-date");
  if (!date_header) {
    return reject(400, "IncompleteSignatureException",
                  "Authorization header requires existence of either a "
                  "'X-Amz-Date' or a 'Date' header.");
  }
  const auto request_ms = parse_amz_date(*date_header);
  if (!request_ms) {
    return reject(400, "IncompleteSignatureException",
                  "X-Amz-Date must have the form YYYYMMDD'T'HHMMSS'Z'");
  }
  const auto& names = auth->signed_headers;
  for (const char* needed : {"host", "x-amz-date"}) {
    if (std::find(names.begin(), names.end(), needed) == names.end()) {
      return reject(400, "IncompleteSignatureException",
                    std::string("'") + needed +
                      "' must be a 'SignedHeader' in the AWS Authorization.");
    }
  }
  if (!std::is_sorted(names.begin(), names.end())) {
    return reject(400, "IncompleteSignatureException",
                  "SignedHeaders must be sorted and lower case.");
  }

  const auto secret = lookup(auth->access_key_id);
  if (!secret) {
    return reject(403, "UnrecognizedClientException",
                  "The security token included in the request is invalid.");
  }
  if (auth->date != date_header->substr(0, 8)) {
    return reject(403, "InvalidSignatureException",
                  "Date in Credential scope does not match YYYYMMDD from "
                  "ISO-8601 version of date from HTTP: '" +
                    auth->date + "' != '" + date_header->substr(0, 8) + "'");
  }
  if (auth->region != opts.region) {
    return reject(403, "InvalidSignatureException",
                  "Credential should be scoped to a valid region, not '" +
                    auth->region + "'. ");
  }
  if (auth->service != opts.service) {
    return reject(403, "InvalidSignatureException",
                  "Credential should be scoped to correct service: '" +
                    opts.service + "'. ");
  }
  if (auth->terminator != "aws4_request") {
    return reject(403, "InvalidSignatureException",
                  "Credential should be scoped with a valid terminator: "
                  "'aws4_request', not '" +
                    auth->terminator + "'. ");
  }
  if (*request_ms + opts.max_skew_ms < now_ms) {
    return reject(403, "InvalidSignatureException",
                  "Signature expired: " + *date_header +
                    " is now earlier than " +
                    amz_date(now_ms - opts.max_skew_ms) + " (" +
                    amz_date(now_ms) + " - 5 min.)");
  }
  if (*request_ms - opts.max_skew_ms > now_ms) {
    return reject(403, "InvalidSignatureException",
                  "Signature not yet current: " + *date_header +
                    " is still later than " +
                    amz_date(now_ms + opts.max_skew_ms) + " (" +
                    amz_date(now_ms) + " + 5 min.)");
  }

  const std::string scope =
    auth->date + "/" + auth->region + "/" + auth->service + "/aws4_request";
  const std::string expected =
    signature(*secret, auth->date, auth->region, auth->service,
              string_to_sign(*date_header, scope,
                             canonical_request(req, names, opts.normalize)));
  if (expected.size() != auth->signature.size() ||
      CRYPTO_memcmp(expected.data(), auth->signature.data(), expected.size()) !=
        0) {
    return reject(403, "InvalidSignatureException",
                  "The request signature we calculated does not match the "
                  "signature you provided. Check your AWS Secret Access Key "
                  "and signing method. Consult the service documentation for "
                  "details.");
  }
  return {true, 200, {}, {}};
}

} // namespace presync::connect_emulator::sigv4
