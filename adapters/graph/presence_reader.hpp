// Reads the presence of many users at once and waits for the answer:
// getPresencesByUserId in chunks of up to 650 ids, each taking one unit of
// the tenant's presence budget (spec/graph.md §3.4, §6.1). Used at start
// and by reconciliation; the poller does the same work asynchronously.
#pragma once

#include "adapters/graph/budget.hpp"
#include "adapters/graph/presence.hpp"
#include "adapters/graph/token_provider.hpp"
#include "adapters/http/client.hpp"

#include <memory>
#include <string>
#include <vector>

namespace presync::graph {

/// Reads every id's presence. Blocks: never call it from an actor or the
/// HTTP client's own thread. Waits for the budget when it is spent; a
/// 429/503 holds the budget for its Retry-After and the chunk is read
/// again (three tries); any other failure fails the whole read.
[[nodiscard]] expected<std::vector<presence_reading>>
read_presences(http::client& http, token_provider& tokens,
               presence_budget& budget, const endpoints& where,
               const std::vector<std::string>& ids,
               http::request_options options = {});

} // namespace presync::graph
