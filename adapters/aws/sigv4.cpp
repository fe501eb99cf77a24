#include "adapters/aws/sigv4.hpp"

#include "protocol/time.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <cstdio>

namespace presync::aws {

namespace {

constexpr std::string_view algorithm = "AWS4-HMAC-SHA256";

// Headers a proxy or HTTP stack may change on the way; the AWS signers
// leave them out (spec/connect.md §3.2).
constexpr std::array<std::string_view, 11> unsigned_headers = {
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
  "x-amzn-trace-id",
};

bool is_unreserved(unsigned char ch) {
  return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
         (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.' ||
         ch == '~';
}

bool is_space(char ch) {
  return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == '\v' ||
         ch == '\f';
}

int hex_value(char ch) {
  if (ch >= '0' && ch <= '9') {
    return ch - '0';
  }
  if (ch >= 'a' && ch <= 'f') {
    return ch - 'a' + 10;
  }
  if (ch >= 'A' && ch <= 'F') {
    return ch - 'A' + 10;
  }
  return -1;
}

// Decodes %XX; a '%' not followed by two hex digits stays as it is, and '+'
// is a plus (SigV4 never reads it as a space).
std::string percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      int hi = hex_value(text[i + 1]);
      int lo = hex_value(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

std::string to_lower(std::string_view text) {
  std::string out{text};
  for (auto& ch : out) {
    if (ch >= 'A' && ch <= 'Z') {
      ch = static_cast<char>(ch - 'A' + 'a');
    }
  }
  return out;
}

// Trims the value and folds every inner run of whitespace (including the
// line breaks of folded continuation lines) into one space.
std::string trim_all(std::string_view value) {
  std::string out;
  bool pending_space = false;
  for (char ch : value) {
    if (is_space(ch)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) {
      out += ' ';
      pending_space = false;
    }
    out += ch;
  }
  return out;
}

std::string to_hex(std::string_view bytes) {
  constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char ch : bytes) {
    auto b = static_cast<unsigned char>(ch);
    out += digits[b >> 4];
    out += digits[b & 0x0f];
  }
  return out;
}

// Removes dot segments and empty segments the way the AWS SDKs do:
// a trailing '/' stays only when something is left before it.
std::string normalize_path(std::string_view path) {
  std::vector<std::string_view> segments;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) {
      end = path.size();
    }
    auto segment = path.substr(start, end - start);
    if (segment == "..") {
      if (!segments.empty()) {
        segments.pop_back();
      }
    } else if (!segment.empty() && segment != ".") {
      segments.push_back(segment);
    }
    start = end + 1;
  }

  std::string out = path.front() == '/' ? "/" : "";
  for (size_t i = 0; i < segments.size(); ++i) {
    if (i > 0) {
      out += '/';
    }
    out += segments[i];
  }
  if (path.back() == '/' && !segments.empty()) {
    out += '/';
  }
  return out;
}

bool is_signed_header(std::string_view lower_name) {
  return std::find(unsigned_headers.begin(), unsigned_headers.end(),
                   lower_name) == unsigned_headers.end();
}

} // namespace

std::string format_amz_date(std::chrono::sys_seconds t) {
  using namespace std::chrono;
  auto day = floor<days>(t);
  year_month_day ymd{day};
  hh_mm_ss<seconds> hms{t - day};
  // Sized for any int the compiler can prove the fields may hold, not only
  // for the 16 characters a real date needs.
  std::array<char, 64> buf{};
  std::snprintf(
    buf.data(), buf.size(), "%04d%02u%02uT%02d%02d%02dZ",
    static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
    static_cast<unsigned>(ymd.day()), static_cast<int>(hms.hours().count()),
    static_cast<int>(hms.minutes().count()),
    static_cast<int>(hms.seconds().count()));
  return std::string{buf.data(), 16};
}

std::optional<std::chrono::sys_seconds> parse_iso8601(std::string_view text) {
  // SigV4 works in whole seconds: the fraction, if any, is dropped.
  auto ms = presync::parse_iso8601_ms(text);
  if (!ms) {
    return std::nullopt;
  }
  using namespace std::chrono;
  return floor<seconds>(sys_time<milliseconds>{milliseconds{*ms}});
}

std::string uri_encode(std::string_view text, bool keep_slash) {
  constexpr char digits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    auto b = static_cast<unsigned char>(ch);
    if (is_unreserved(b) || (keep_slash && ch == '/')) {
      out += ch;
    } else {
      out += '%';
      out += digits[b >> 4];
      out += digits[b & 0x0f];
    }
  }
  return out;
}

std::string canonical_uri(std::string_view path, bool normalize) {
  if (path.empty()) {
    return "/";
  }
  if (normalize) {
    return uri_encode(normalize_path(path), true);
  }
  return uri_encode(path, true);
}

std::string canonical_query(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> items;
  size_t start = 0;
  while (start <= query.size()) {
    size_t end = query.find('&', start);
    if (end == std::string_view::npos) {
      end = query.size();
    }
    auto item = query.substr(start, end - start);
    if (!item.empty()) {
      auto eq = item.find('=');
      auto name = item.substr(0, eq);
      auto value =
        eq == std::string_view::npos ? std::string_view{} : item.substr(eq + 1);
      items.emplace_back(uri_encode(percent_decode(name), false),
                         uri_encode(percent_decode(value), false));
    }
    start = end + 1;
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

std::string sha256_hex(std::string_view bytes) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), md.data(), &len, EVP_sha256(),
             nullptr);
  return to_hex(
    std::string_view{reinterpret_cast<const char*>(md.data()), len});
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(),
       md.data(), &len);
  return std::string{reinterpret_cast<const char*>(md.data()), len};
}

std::string derive_signing_key(const secret_string& secret,
                               std::string_view date, std::string_view region,
                               std::string_view service) {
  auto k_date = hmac_sha256("AWS4" + secret.reveal(), date);
  auto k_region = hmac_sha256(k_date, region);
  auto k_service = hmac_sha256(k_region, service);
  return hmac_sha256(k_service, "aws4_request");
}

expected<signing_result> sign_request(const signing_request& request,
                                      const credentials& creds,
                                      const signing_params& params) {
  if (creds.access_key_id.empty() || creds.secret_access_key.empty()) {
    return make_error(sync_error::config_invalid,
                      "sigv4: access key id or secret key is empty");
  }
  if (params.region.empty() || params.service.empty()) {
    return make_error(sync_error::config_invalid,
                      "sigv4: region or service is empty");
  }

  // Collect the headers to sign: lower-case names, folded values, repeated
  // names joined with ',' in their original order.
  bool has_token = !creds.session_token.empty();
  signing_result result;
  result.amz_date = format_amz_date(params.time);
  auto payload_hash = sha256_hex(request.body);
  std::vector<std::pair<std::string, std::string>> lines;
  auto add_line = [&](std::string name, std::string_view value) {
    auto folded = trim_all(value);
    for (auto& [n, v] : lines) {
      if (n == name) {
        v += ',';
        v += folded;
        return;
      }
    }
    lines.emplace_back(std::move(name), std::move(folded));
  };
  bool has_host = false;
  for (const auto& h : request.headers) {
    auto name = to_lower(h.name);
    if (name == "x-amz-date" || name == "authorization" ||
        (has_token && name == "x-amz-security-token") ||
        (params.add_content_sha256 && name == "x-amz-content-sha256") ||
        !is_signed_header(name)) {
      continue;
    }
    has_host = has_host || name == "host";
    add_line(std::move(name), h.value);
  }
  if (!has_host) {
    return make_error(sync_error::rejected,
                      "sigv4: the request has no Host header");
  }
  add_line("x-amz-date", result.amz_date);
  if (has_token && params.sign_session_token) {
    add_line("x-amz-security-token", creds.session_token.reveal());
  }
  if (params.add_content_sha256) {
    add_line("x-amz-content-sha256", payload_hash);
  }
  std::sort(lines.begin(), lines.end());

  // Step 1: canonical request.
  std::string canonical_headers;
  for (const auto& [name, value] : lines) {
    canonical_headers += name + ':' + value + '\n';
    if (!result.signed_headers.empty()) {
      result.signed_headers += ';';
    }
    result.signed_headers += name;
  }
  result.canonical_request =
    request.method + '\n' + canonical_uri(request.path, params.normalize_path) +
    '\n' + canonical_query(request.query) + '\n' + canonical_headers + '\n' +
    result.signed_headers + '\n' + payload_hash;

  // Steps 2 and 3: credential scope and string to sign.
  auto date = result.amz_date.substr(0, 8);
  result.credential_scope =
    date + '/' + params.region + '/' + params.service + "/aws4_request";
  result.string_to_sign = std::string{algorithm} + '\n' + result.amz_date +
                          '\n' + result.credential_scope + '\n' +
                          sha256_hex(result.canonical_request);

  // Steps 4 and 5: signature and Authorization header.
  auto key = derive_signing_key(creds.secret_access_key, date, params.region,
                                params.service);
  result.signature = to_hex(hmac_sha256(key, result.string_to_sign));
  result.authorization =
    std::string{algorithm} + " Credential=" + creds.access_key_id + '/' +
    result.credential_scope + ", SignedHeaders=" + result.signed_headers +
    ", Signature=" + result.signature;

  result.added_headers.push_back({"X-Amz-Date", result.amz_date});
  if (has_token) {
    result.added_headers.push_back(
      {"X-Amz-Security-Token", creds.session_token.reveal()});
  }
  if (params.add_content_sha256) {
    result.added_headers.push_back({"x-amz-content-sha256", payload_hash});
  }
  result.added_headers.push_back({"Authorization", result.authorization});
  return result;
}

signing_request apply_signature(const signing_request& request,
                                const signing_result& result) {
  signing_request out = request;
  auto replaced = [&](const http_header& h) {
    auto name = to_lower(h.name);
    for (const auto& added : result.added_headers) {
      if (to_lower(added.name) == name) {
        return true;
      }
    }
    return false;
  };
  std::erase_if(out.headers, replaced);
  out.headers.insert(out.headers.end(), result.added_headers.begin(),
                     result.added_headers.end());
  return out;
}

} // namespace presync::aws
