// App-only tokens from the Microsoft identity platform: the
// client-credentials request, its answer, its errors, and when to renew
// (spec/graph.md §1.1, §1.3).
#pragma once

#include "adapters/http/message.hpp"
#include "adapters/http/secret.hpp"
#include "protocol/error.hpp"
#include "protocol/time.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace presync::graph {

using http::secret;

/// Where Graph and the token service live; tests point both at loopback.
struct endpoints {
  std::string login = "https://login.microsoftonline.com";
  std::string graph = "https://graph.microsoft.com";
  /// The resource the token is for ({scope_resource}/.default); empty
  /// means `graph`. Set it when `graph` points at a stand-in whose tokens
  /// are still issued for https://graph.microsoft.com.
  std::string scope_resource = {};

  /// Returns the Graph base URL with its version, e.g. ".../v1.0".
  std::string graph_base() const { return graph + "/v1.0"; }
};

/// What presync signs in with for one tenant.
struct client_credentials {
  std::string tenant;    ///< the tenant GUID
  std::string client_id; ///< presync's application id
  secret client_secret;
};

/// Builds the POST to {login}/{tenant}/oauth2/v2.0/token with the form
/// body client_id, scope={scope_resource or graph}/.default,
/// grant_type=client_credentials, client_secret. config_invalid when a
/// credential field is empty.
[[nodiscard]] expected<http::http_request>
build_token_request(const client_credentials& credentials,
                    const endpoints& where);

/// An access token and how long it lives from the moment it was issued.
struct app_token {
  secret access_token;
  duration expires_in{0};
};

/// Parses a 200 answer of the token endpoint (token_type Bearer,
/// expires_in as an integer or a digit string, access_token). malformed
/// naming the field otherwise.
[[nodiscard]] expected<app_token> parse_token_response(std::string_view json);

/// Maps a failed token-endpoint answer (spec §1.3) by `error_codes` first,
/// then `error`: 7000222 secret_expired; 65001, 700016,
/// interaction_required, consent_required not_consented; 90002
/// tenant_not_found; invalid_client, invalid_grant unauthorized;
/// unauthorized_client, invalid_resource config_invalid;
/// temporarily_unavailable and 5xx unavailable; 429 throttled; other
/// OAuth errors rejected. The context names the OAuth error and AADSTS
/// code, never error_description; request_id is the correlation id.
[[nodiscard]] error parse_token_error(int http_status,
                                      const http::header_list& headers,
                                      std::string_view json);

/// One tenant's app token and its renewal schedule. Time comes in as an
/// argument; the class never reads a clock.
class token_cache {
 public:
  /// Renews `margin` before expiry (spec: 5 minutes).
  explicit token_cache(duration margin = std::chrono::minutes{5});

  /// Stores a token issued at `now`; ends any renewal in flight.
  void store(app_token token, mono_time now);

  /// Returns the token while it has not expired, else nullptr.
  const secret* current(mono_time now) const;

  /// Returns true when no token is held, it was invalidated, or less than
  /// the margin remains.
  bool needs_refresh(mono_time now) const;

  /// Returns when the held token should be renewed (nullopt: none held).
  std::optional<mono_time> refresh_due() const;

  /// Returns when the held token expires (nullopt: none held).
  std::optional<mono_time> expires_at() const;

  /// Returns true, and marks a renewal in flight, if the caller should
  /// request a token now; false while one is in flight or none is needed.
  bool begin_refresh(mono_time now);

  /// Ends a failed renewal so a later begin_refresh may try again.
  void refresh_failed();

  /// Forgets the token, e.g. after Graph answered 401.
  void invalidate();

 private:
  duration margin_;
  std::optional<secret> token_;
  mono_time expires_at_{};
  bool in_flight_ = false;
};

} // namespace presync::graph
