#include "adapters/graph/presence.hpp"

#include "adapters/graph/internal/json.hpp"

#include <algorithm>
#include <unordered_set>

namespace presync::graph {

using namespace internal;

namespace {

constexpr std::string_view presence_what = "presence response";

std::string lower(std::string_view s) {
  std::string out{s};
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

std::vector<std::string> dedupe(std::span<const std::string> ids) {
  std::unordered_set<std::string> seen;
  std::vector<std::string> out;
  for (const auto& id : ids) {
    if (seen.insert(lower(id)).second) {
      out.push_back(id);
    }
  }
  return out;
}

std::optional<error> read_status_message(od::value v,
                                         std::optional<std::string>& out,
                                         const std::string& path) {
  if (take_null(v)) {
    return std::nullopt;
  }
  od::object obj;
  if (auto ec = v.get_object().get(obj)) {
    return json_error(presence_what, path, ec);
  }
  for (auto item : obj) {
    od::field f;
    std::string_view key;
    if (std::move(item).get(f) || f.unescaped_key().get(key)) {
      return field_error(presence_what, path, "truncated or invalid JSON");
    }
    if (key != "message") {
      continue;
    }
    od::value m = f.value();
    if (take_null(m)) {
      continue;
    }
    od::object message;
    if (auto ec = m.get_object().get(message)) {
      return json_error(presence_what, join(path, "message"), ec);
    }
    for (auto inner : message) {
      od::field g;
      std::string_view k;
      if (std::move(inner).get(g) || g.unescaped_key().get(k)) {
        return field_error(presence_what, join(path, "message"),
                           "truncated or invalid JSON");
      }
      if (k == "content") {
        if (auto e =
              read_nullable_string(g.value(), out, presence_what,
                                   join(join(path, "message"), "content"))) {
          return e;
        }
      }
    }
  }
  return std::nullopt;
}

std::optional<error> read_presence(od::value v, presence_reading& out,
                                   const std::string& path) {
  od::object obj;
  if (auto ec = v.get_object().get(obj)) {
    return ec == simdjson::INCORRECT_TYPE
             ? field_error(presence_what, path.empty() ? "document" : path,
                           "expected an object")
             : json_error(presence_what, path.empty() ? "document" : path, ec);
  }
  bool seen_id = false;
  bool seen_availability = false;
  bool seen_activity = false;
  for (auto item : obj) {
    od::field f;
    std::string_view key;
    if (auto ec = std::move(item).get(f)) {
      return json_error(presence_what, path.empty() ? "document" : path, ec);
    }
    if (auto ec = f.unescaped_key().get(key)) {
      return json_error(presence_what, path, ec);
    }
    auto at = join(path, key);
    std::optional<error> e;
    if (key == "id") {
      seen_id = true;
      e = read_string(f.value(), out.id, presence_what, at);
    } else if (key == "availability") {
      seen_availability = true;
      e = read_string(f.value(), out.raw.availability, presence_what, at);
    } else if (key == "activity") {
      seen_activity = true;
      e = read_string(f.value(), out.raw.activity, presence_what, at);
    } else if (key == "sequenceNumber") {
      e =
        read_nullable_string(f.value(), out.sequence_number, presence_what, at);
    } else if (key == "statusMessage") {
      e = read_status_message(f.value(), out.status_message, at);
    } else if (key == "outOfOfficeSettings") {
      od::value s = f.value();
      if (take_null(s)) {
        continue;
      }
      od::object oof;
      if (auto ec = s.get_object().get(oof)) {
        return json_error(presence_what, at, ec);
      }
      for (auto o : oof) {
        od::field g;
        std::string_view k;
        if (std::move(o).get(g) || g.unescaped_key().get(k)) {
          return field_error(presence_what, at, "truncated or invalid JSON");
        }
        if (k == "isOutOfOffice") {
          e =
            read_bool(g.value(), out.out_of_office, presence_what, join(at, k));
          if (e) {
            return e;
          }
        }
      }
    }
    if (e) {
      return e;
    }
  }
  for (auto [seen, name] :
       {std::pair{seen_id, "id"}, std::pair{seen_availability, "availability"},
        std::pair{seen_activity, "activity"}}) {
    if (!seen) {
      return field_error(presence_what, join(path, name), "missing");
    }
  }
  out.value.availability =
    std::string{canonical_availability(out.raw.availability)
                  .value_or(out.raw.availability)};
  out.value.activity = std::string{
    canonical_activity(out.raw.activity).value_or(out.raw.activity)};
  return std::nullopt;
}

} // namespace

std::string presences_by_id_url(const endpoints& where) {
  return where.graph_base() + "/communications/getPresencesByUserId";
}

expected<std::string> build_presence_body(std::span<const std::string> ids) {
  auto unique = dedupe(ids);
  if (unique.empty()) {
    return make_error(sync_error::rejected, "getPresencesByUserId: no ids");
  }
  if (unique.size() > max_presence_ids) {
    return make_error(sync_error::rejected,
                      "getPresencesByUserId: " + std::to_string(unique.size()) +
                        " distinct ids, at most 650 allowed");
  }
  std::string body = "{\"ids\":[";
  for (size_t i = 0; i < unique.size(); ++i) {
    if (i != 0) {
      body += ',';
    }
    append_quoted(body, unique[i]);
  }
  body += "]}";
  return body;
}

expected<http::http_request>
build_presence_request(const endpoints& where,
                       std::span<const std::string> ids) {
  auto body = build_presence_body(ids);
  if (!body) {
    return body.err();
  }
  http::http_request req;
  req.method = "POST";
  req.url = presences_by_id_url(where);
  req.headers.set("Content-Type", "application/json");
  req.headers.set("Accept", "application/json");
  req.body = std::move(*body);
  return req;
}

expected<std::vector<presence_reading>>
parse_presence_response(std::string_view json) {
  json_document d;
  od::object root;
  if (auto e = open_object(d, json, root, presence_what)) {
    return *e;
  }
  std::vector<presence_reading> out;
  bool seen_value = false;
  for (auto item : root) {
    od::field f;
    std::string_view key;
    if (auto ec = std::move(item).get(f)) {
      return json_error(presence_what, "document", ec);
    }
    if (auto ec = f.unescaped_key().get(key)) {
      return json_error(presence_what, "document", ec);
    }
    if (key != "value") {
      continue;
    }
    seen_value = true;
    od::array arr;
    if (auto ec = f.value().get_array().get(arr)) {
      return ec == simdjson::INCORRECT_TYPE
               ? field_error(presence_what, "value", "expected an array")
               : json_error(presence_what, "value", ec);
    }
    size_t i = 0;
    for (auto element : arr) {
      auto path = index("value", i++);
      od::value v;
      if (auto ec = std::move(element).get(v)) {
        return json_error(presence_what, path, ec);
      }
      presence_reading r;
      if (auto e = read_presence(v, r, path)) {
        return *e;
      }
      out.push_back(std::move(r));
    }
  }
  if (!seen_value) {
    return field_error(presence_what, "value", "missing");
  }
  return out;
}

expected<presence_reading> parse_presence_object(std::string_view json) {
  json_document d;
  d.buffer = simdjson::padded_string{json};
  if (auto ec = d.parser.iterate(d.buffer).get(d.doc)) {
    return json_error(presence_what, "document", ec);
  }
  od::value root;
  if (auto ec = d.doc.get_value().get(root)) {
    return json_error(presence_what, "document", ec);
  }
  presence_reading r;
  if (auto e = read_presence(root, r, "")) {
    return *e;
  }
  return r;
}

poll_planner::poll_planner(duration interval, size_t batch_size)
  : interval_(interval), batch_size_(std::max<size_t>(batch_size, 1)) {}

std::vector<poll_batch>
poll_planner::plan(std::span<const std::string> ids) const {
  auto unique = dedupe(ids);
  std::vector<poll_batch> out;
  if (unique.empty()) {
    return out;
  }
  size_t count = (unique.size() + batch_size_ - 1) / batch_size_;
  size_t base = unique.size() / count;
  size_t extra = unique.size() % count;
  size_t next = 0;
  for (size_t i = 0; i < count; ++i) {
    size_t size = base + (i < extra ? 1 : 0);
    poll_batch b;
    b.ids.assign(unique.begin() + static_cast<std::ptrdiff_t>(next),
                 unique.begin() + static_cast<std::ptrdiff_t>(next + size));
    next += size;
    b.offset = duration{interval_.count() * static_cast<int64_t>(i) /
                        static_cast<int64_t>(count)};
    out.push_back(std::move(b));
  }
  return out;
}

} // namespace presync::graph
