#include "adapters/http/message.hpp"

#include <gtest/gtest.h>

namespace presync::http {
namespace {

using namespace std::chrono_literals;
using sys = std::chrono::system_clock;

// 2026-01-01T10:00:00Z.
sys::time_point ten_o_clock() {
  using namespace std::chrono;
  return sys_days{year{2026} / January / 1} + 10h;
}

TEST(RetryAfter, ParsesSecondsFractionsAndDates) {
  struct row {
    std::string_view text;
    std::optional<duration> expected;
  };
  const row rows[] = {
    {"2", 2000ms},
    {" 120 ", 120000ms},
    {"0", 0ms},
    {"2.128", 2128ms},
    {"2.5", 2500ms},
    {"0.0001", 1ms}, // rounded up, never early
    {"1.000", 1000ms},
    {"Thu, 01 Jan 2026 10:00:30 GMT", 30000ms},
    {"Thu, 01 Jan 2026 09:59:00 GMT", 0ms}, // in the past
    {"", std::nullopt},
    {"soon", std::nullopt},
    {"-1", std::nullopt},
    {"2.", std::nullopt},
    {"1e3", std::nullopt},
    {"Thu, 01 Foo 2026 10:00:30 GMT", std::nullopt},
    {"Thu, 32 Jan 2026 10:00:30 GMT", std::nullopt},
    {"Thu, 01 Jan 2026 10:00:30 UTC", std::nullopt},
  };

  for (const auto& r : rows) {
    EXPECT_EQ(parse_retry_after(r.text, ten_o_clock()), r.expected)
      << "'" << r.text << "'";
  }
}

TEST(FromHttpStatus, MapsStatusesAndCarriesRetryAfter) {
  header_list headers;
  headers.add("retry-after", "2.128");
  headers.add("request-id", "r-1");

  auto throttled = from_http_status(429, headers, "poll", ten_o_clock());
  auto busy = from_http_status(503, headers, "poll", ten_o_clock());

  EXPECT_EQ(throttled.code, sync_error::throttled);
  EXPECT_EQ(throttled.retry_after, 2128ms);
  EXPECT_EQ(throttled.request_id, "r-1");
  EXPECT_EQ(throttled.http_status, 429);
  EXPECT_EQ(throttled.context, "poll");
  EXPECT_EQ(busy.code, sync_error::unavailable);
  EXPECT_EQ(busy.retry_after, 2128ms);
}

TEST(FromHttpStatus, OtherStatusesMapWithoutRetryAfter) {
  const std::pair<int, sync_error> rows[] = {
    {400, sync_error::rejected},    {401, sync_error::unauthorized},
    {403, sync_error::forbidden},   {404, sync_error::not_found},
    {410, sync_error::not_found},   {413, sync_error::too_large},
    {500, sync_error::unavailable}, {502, sync_error::unavailable},
    {409, sync_error::rejected},
  };

  for (auto [status, code] : rows) {
    auto e = from_http_status(status, {}, "x", ten_o_clock());

    EXPECT_EQ(e.code, code) << status;
    EXPECT_EQ(e.retry_after, 0ms);
  }
}

TEST(FromHttpStatus, HttpDateRetryAfterCountsFromNow) {
  header_list headers;
  headers.add("Retry-After", "Thu, 01 Jan 2026 10:01:00 GMT");

  auto e = from_http_status(503, headers, "x", ten_o_clock());

  EXPECT_EQ(e.retry_after, 60000ms);
}

TEST(HeaderList, LookupIgnoresCaseAndSetReplaces) {
  header_list h;
  h.add("Content-Type", "text/plain");
  h.add("X-A", "1");

  h.set("content-type", "application/json");

  EXPECT_EQ(h.find("CONTENT-TYPE"), "application/json");
  EXPECT_EQ(h.find("x-a"), "1");
  EXPECT_FALSE(h.contains("x-b"));
  EXPECT_EQ(h.size(), 2u);
}

TEST(ParseUrl, SplitsHostPortAndTarget) {
  auto a = parse_url("https://graph.microsoft.com/v1.0/users?$top=5");
  auto b = parse_url("http://127.0.0.1:8080");
  auto c = parse_url("https://[::1]:9443/x");
  auto d = parse_url("https://host?q=1");

  ASSERT_TRUE(a && b && c && d);
  EXPECT_TRUE(a->tls);
  EXPECT_EQ(a->host, "graph.microsoft.com");
  EXPECT_EQ(a->port, 443);
  EXPECT_EQ(a->target, "/v1.0/users?$top=5");
  EXPECT_FALSE(b->tls);
  EXPECT_EQ(b->port, 8080);
  EXPECT_EQ(b->target, "/");
  EXPECT_EQ(c->host, "::1");
  EXPECT_EQ(c->port, 9443);
  EXPECT_EQ(d->target, "/?q=1");
}

TEST(ParseUrl, RejectsWhatItCannotUseWithoutEchoingTheUrl) {
  const std::pair<std::string_view, std::string_view> rows[] = {
    {"ftp://x/secret-token", "url: scheme must be https:// or http://"},
    {"https://:443/", "url: host is empty"},
    {"https://host:99999/", "url: port must be 1-65535"},
    {"https://host:/", "url: port must be 1-65535"},
    {"https://user:pw@host/", "url: user information is not supported"},
  };

  for (auto [url, context] : rows) {
    auto parts = parse_url(url);

    ASSERT_FALSE(parts) << url;
    EXPECT_EQ(parts.err().code, sync_error::config_invalid);
    EXPECT_EQ(parts.err().context, context);
  }
}

TEST(Idempotent, OnlySafeAndIdempotentMethods) {
  EXPECT_TRUE(is_idempotent("GET"));
  EXPECT_TRUE(is_idempotent("delete"));
  EXPECT_TRUE(is_idempotent("PUT"));
  EXPECT_FALSE(is_idempotent("POST"));
  EXPECT_FALSE(is_idempotent("PATCH"));
}

} // namespace
} // namespace presync::http
