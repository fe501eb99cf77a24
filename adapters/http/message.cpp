#include "adapters/http/message.hpp"

#include "protocol/status.hpp"

#include <array>
#include <charconv>
#include <cmath>

namespace presync::http {

namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

std::optional<int> parse_int(std::string_view s) {
  int out = 0;
  if (s.empty()) {
    return std::nullopt;
  }
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (ec != std::errc{} || end != s.data() + s.size()) {
    return std::nullopt;
  }
  return out;
}

// Parses "2", "2.5", "2.128" into milliseconds, rounding up so a client
// never retries before the server asked.
std::optional<duration> parse_seconds(std::string_view s) {
  auto dot = s.find('.');
  auto whole = s.substr(0, dot);
  if (whole.empty() || whole.size() > 9) {
    return std::nullopt;
  }
  for (char c : whole) {
    if (!is_digit(c)) {
      return std::nullopt;
    }
  }
  int64_t ms = 0;
  for (char c : whole) {
    ms = ms * 10 + (c - '0');
  }
  ms *= 1000;
  if (dot != std::string_view::npos) {
    auto frac = s.substr(dot + 1);
    if (frac.empty()) {
      return std::nullopt;
    }
    int64_t scale = 100;
    bool rest = false;
    for (size_t i = 0; i < frac.size(); ++i) {
      if (!is_digit(frac[i])) {
        return std::nullopt;
      }
      if (i < 3) {
        ms += (frac[i] - '0') * scale;
        scale /= 10;
      } else if (frac[i] != '0') {
        rest = true;
      }
    }
    if (rest) {
      ms += 1;
    }
  }
  return duration{ms};
}

// IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT".
std::optional<std::chrono::system_clock::time_point>
parse_http_date(std::string_view s) {
  constexpr std::array<std::string_view, 12> months = {
    "Jan", "Feb", "Mar", "Apr", "May", "Jun",
    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (s.size() != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' ||
      s[11] != ' ' || s[16] != ' ' || s[19] != ':' || s[22] != ':' ||
      s.substr(25) != " GMT") {
    return std::nullopt;
  }
  auto day = parse_int(s.substr(5, 2));
  auto year = parse_int(s.substr(12, 4));
  auto hour = parse_int(s.substr(17, 2));
  auto minute = parse_int(s.substr(20, 2));
  auto second = parse_int(s.substr(23, 2));
  unsigned month = 0;
  for (unsigned i = 0; i < months.size(); ++i) {
    if (months[i] == s.substr(8, 3)) {
      month = i + 1;
    }
  }
  if (!day || !year || !hour || !minute || !second || month == 0 ||
      *hour > 23 || *minute > 59 || *second > 60) {
    return std::nullopt;
  }
  using namespace std::chrono;
  year_month_day ymd{std::chrono::year{*year}, std::chrono::month{month},
                     std::chrono::day{static_cast<unsigned>(*day)}};
  if (!ymd.ok()) {
    return std::nullopt;
  }
  return sys_days{ymd} + hours{*hour} + minutes{*minute} + seconds{*second};
}

} // namespace

void header_list::add(std::string name, std::string value) {
  fields_.emplace_back(std::move(name), std::move(value));
}

void header_list::set(std::string name, std::string value) {
  std::erase_if(fields_, [&](const auto& f) { return iequals(f.first, name); });
  fields_.emplace_back(std::move(name), std::move(value));
}

std::optional<std::string_view> header_list::find(std::string_view name) const {
  for (const auto& [key, value] : fields_) {
    if (iequals(key, name)) {
      return std::string_view{value};
    }
  }
  return std::nullopt;
}

expected<url_parts> parse_url(std::string_view url) {
  url_parts out;
  constexpr std::string_view https = "https://";
  constexpr std::string_view plain = "http://";
  if (url.substr(0, https.size()) == https) {
    url.remove_prefix(https.size());
    out.port = 443;
  } else if (url.substr(0, plain.size()) == plain) {
    url.remove_prefix(plain.size());
    out.tls = false;
    out.port = 80;
  } else {
    return make_error(sync_error::config_invalid,
                      "url: scheme must be https:// or http://");
  }
  auto slash = url.find_first_of("/?");
  auto authority = url.substr(0, slash);
  out.target = slash == std::string_view::npos ? "/" : url.substr(slash);
  if (out.target.front() == '?') {
    out.target.insert(0, "/");
  }
  if (authority.find('@') != std::string_view::npos) {
    return make_error(sync_error::config_invalid,
                      "url: user information is not supported");
  }
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) {
      return make_error(sync_error::config_invalid,
                        "url: unterminated IPv6 literal");
    }
    out.host = authority.substr(1, close - 1);
    auto rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        return make_error(sync_error::config_invalid,
                          "url: junk after IPv6 literal");
      }
      port_text = rest.substr(1);
    }
  } else {
    auto colon = authority.find(':');
    out.host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
    }
  }
  if (out.host.empty()) {
    return make_error(sync_error::config_invalid, "url: host is empty");
  }
  if (!port_text.empty() || authority.back() == ':') {
    auto port = parse_int(port_text);
    if (!port || *port <= 0 || *port > 65535) {
      return make_error(sync_error::config_invalid,
                        "url: port must be 1-65535");
    }
    out.port = static_cast<uint16_t>(*port);
  }
  return out;
}

bool is_idempotent(std::string_view method) {
  for (std::string_view m :
       {"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"}) {
    if (iequals(m, method)) {
      return true;
    }
  }
  return false;
}

std::optional<duration>
parse_retry_after(std::string_view value,
                  std::chrono::system_clock::time_point now) {
  value = trim(value);
  if (value.empty()) {
    return std::nullopt;
  }
  if (is_digit(value.front())) {
    return parse_seconds(value);
  }
  auto when = parse_http_date(value);
  if (!when) {
    return std::nullopt;
  }
  if (*when <= now) {
    return duration{0};
  }
  return std::chrono::ceil<duration>(*when - now);
}

error from_http_status(int status, const header_list& headers,
                       std::string context,
                       std::chrono::system_clock::time_point now) {
  sync_error code = sync_error::rejected;
  if (status == 401) {
    code = sync_error::unauthorized;
  } else if (status == 403) {
    code = sync_error::forbidden;
  } else if (status == 404 || status == 410) {
    code = sync_error::not_found;
  } else if (status == 413) {
    code = sync_error::too_large;
  } else if (status == 429) {
    code = sync_error::throttled;
  } else if (status >= 500 && status <= 599) {
    code = sync_error::unavailable;
  }
  auto e = make_error(code, std::move(context), status);
  if (auto v = headers.find("Retry-After")) {
    if (auto after = parse_retry_after(*v, now)) {
      e.retry_after = *after;
    }
  }
  for (std::string_view name : {"request-id", "x-ms-request-id",
                                "x-amzn-RequestId", "x-amz-request-id"}) {
    if (auto id = headers.find(name)) {
      e.request_id = std::string{*id};
      break;
    }
  }
  return e;
}

} // namespace presync::http
