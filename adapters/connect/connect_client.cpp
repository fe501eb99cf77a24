#include "adapters/connect/connect_client.hpp"

#include <algorithm>
#include <thread>
#include <utility>

namespace presync::connect {

mono_clock_fn steady_mono_clock() {
  return [] {
    return std::chrono::time_point_cast<duration>(
      std::chrono::steady_clock::now());
  };
}

connect_client::connect_client(aws::signed_caller& caller,
                               std::string instance_id, connect_limits limits,
                               mono_clock_fn clock)
  : caller_(caller), instance_id_(std::move(instance_id)),
    clock_(std::move(clock)),
    bucket_(limits.burst, limits.requests_per_second) {}

expected<connect_reply> connect_client::call(const api_request& request) {
  // One bucket for the whole tenant; the lock covers only the token.
  {
    std::lock_guard<std::mutex> guard{mutex_};
    const auto now = clock_();
    if (!bucket_.try_take(now)) {
      auto e =
        make_error(sync_error::throttled, "connect: tenant rate limit reached");
      e.retry_after = bucket_.next_token(now) - now;
      return e;
    }
    ++calls_sent_;
  }

  aws::call_request out{request.method, request.path, request.query,
                        request.headers, request.body};
  auto reply = caller_.call(out);
  if (!reply) {
    return reply.err();
  }
  return connect_reply{reply->status, aws::to_aws_headers(reply->headers),
                       std::move(reply->body)};
}

void connect_client::set_limits(const connect_limits& limits) {
  std::lock_guard<std::mutex> guard{mutex_};
  bucket_.reconfigure(limits.burst, limits.requests_per_second);
}

uint64_t connect_client::calls_sent() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return calls_sent_;
}

error error_of(std::string_view operation, const connect_reply& reply) {
  return parse_error(operation, reply.status, reply.headers, reply.body).err;
}

namespace {

/// Sends `request` and returns the body of a 2xx answer. The bulk reads
/// run on a thread of their own, so they wait for the tenant's limiter
/// rather than fail, and give Connect's own throttling a few tries.
expected<std::string> body_of(connect_client& client, std::string_view op,
                              const api_request& request) {
  constexpr int max_remote_throttles = 5;
  int remote_throttles = 0;
  for (;;) {
    auto reply = client.call(request);
    if (!reply && reply.err().code == sync_error::throttled &&
        reply.err().http_status == 0) {
      std::this_thread::sleep_for(reply.err().retry_after);
      continue;
    }
    if (!reply) {
      return reply.err();
    }
    if (reply->status >= 200 && reply->status < 300) {
      return std::move(reply->body);
    }
    auto e = error_of(op, *reply);
    if (e.code != sync_error::throttled ||
        ++remote_throttles > max_remote_throttles) {
      return e;
    }
    auto wait = e.retry_after > duration{0}
                  ? e.retry_after
                  : std::chrono::milliseconds{500 << remote_throttles};
    std::this_thread::sleep_for(wait);
  }
}

} // namespace

expected<std::vector<agent_status_summary>>
list_all_agent_statuses(connect_client& client) {
  std::vector<agent_status_summary> out;
  std::string token;
  for (int page = 0; page < 1000; ++page) {
    auto body =
      body_of(client, "ListAgentStatuses",
              build_list_agent_statuses(client.instance_id(), {}, token));
    if (!body) {
      return body.err();
    }
    auto parsed = parse_list_agent_statuses(*body);
    if (!parsed) {
      return parsed.err();
    }
    out.insert(out.end(), parsed->statuses.begin(), parsed->statuses.end());
    if (!parsed->next_token) {
      return out;
    }
    token = *parsed->next_token;
  }
  return make_error(sync_error::malformed,
                    "ListAgentStatuses: more than 1000 pages");
}

expected<std::vector<user_summary>> list_all_users(connect_client& client) {
  std::vector<user_summary> summaries;
  std::string token;
  for (int page = 0;; ++page) {
    if (page == 1000) {
      return make_error(sync_error::malformed,
                        "ListUsers: more than 1000 pages");
    }
    auto body = body_of(client, "ListUsers",
                        build_list_users(client.instance_id(), token));
    if (!body) {
      return body.err();
    }
    auto parsed = parse_list_users(*body);
    if (!parsed) {
      return parsed.err();
    }
    summaries.insert(summaries.end(), parsed->users.begin(),
                     parsed->users.end());
    if (!parsed->next_token) {
      break;
    }
    token = *parsed->next_token;
  }
  return summaries;
}

expected<std::vector<user_details>> read_directory(connect_client& client) {
  auto summaries = list_all_users(client);
  if (!summaries) {
    return summaries.err();
  }
  std::vector<user_details> out;
  out.reserve(summaries->size());
  for (const auto& s : *summaries) {
    auto body = body_of(client, "DescribeUser",
                        build_describe_user(client.instance_id(), s.id));
    if (!body) {
      return body.err();
    }
    auto parsed = parse_describe_user(*body);
    if (!parsed) {
      return parsed.err();
    }
    out.push_back(std::move(*parsed));
  }
  return out;
}

expected<std::vector<user_data>>
read_current_user_data(connect_client& client,
                       const std::vector<std::string>& user_ids) {
  std::vector<user_data> out;
  for (size_t first = 0; first < user_ids.size(); first += 100) {
    const auto last = std::min(user_ids.size(), first + 100);
    std::vector<std::string> chunk(
      user_ids.begin() + static_cast<std::ptrdiff_t>(first),
      user_ids.begin() + static_cast<std::ptrdiff_t>(last));
    std::string token;
    for (int page = 0;; ++page) {
      if (page == 1000) {
        return make_error(sync_error::malformed,
                          "GetCurrentUserData: more than 1000 pages");
      }
      auto req =
        build_get_current_user_data(client.instance_id(), chunk, token);
      if (!req) {
        return req.err();
      }
      auto body = body_of(client, "GetCurrentUserData", *req);
      if (!body) {
        return body.err();
      }
      auto parsed = parse_get_current_user_data(*body);
      if (!parsed) {
        return parsed.err();
      }
      out.insert(out.end(), parsed->users.begin(), parsed->users.end());
      if (!parsed->next_token) {
        break;
      }
      token = *parsed->next_token;
    }
  }
  return out;
}

} // namespace presync::connect
