// The routes of presync's API server (DESIGN.md §5): health and readiness
// without authentication, everything under /v1 behind a bearer token.
// Handlers answer from the tenants' runtimes and never block on the
// network.
#pragma once

#include "adapters/http/server.hpp"
#include "app/tenant_runtime.hpp"
#include "protocol/secret.hpp"

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace presync::app {

/// What the routes answer from. The tenants outlive the server.
struct api_context {
  const std::vector<std::unique_ptr<tenant_runtime>>* tenants = nullptr;
  std::vector<secret> tokens; ///< accepted bearer tokens
};

/// Splits a comma-separated token list, dropping blanks.
std::vector<secret> parse_api_tokens(std::string_view text);

/// Returns true if `header` is "Bearer T" for one of `tokens`. Compares in
/// time that depends only on the lengths, never on where they differ.
bool bearer_allowed(std::string_view header, const std::vector<secret>& tokens);

/// Answers one request:
/// - GET /healthz: 200 while the process runs;
/// - GET /readyz: 200 when every tenant is ready, else 503 with reasons;
/// - GET /v1/tenants/{t}/identity/conflicts: accounts that claim one
///   identity and are therefore not synced;
/// - 401 for /v1 without a valid token (before anything is looked up, so
///   an unauthenticated caller learns nothing about tenants or people).
http::server_response handle_api(const api_context& ctx,
                                 const http::server_request& req);

} // namespace presync::app
