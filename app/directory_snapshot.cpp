#include "app/directory_snapshot.hpp"

#include "adapters/graph/phone.hpp"
#include "adapters/log/log.hpp"
#include "protocol/json_text.hpp"

#include <algorithm>

namespace presync::app {

namespace {

std::string digits_of(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c >= '0' && c <= '9') {
      out += c;
    }
  }
  return out;
}

/// Fills the Connect number of `p` from DescribeUser, if it has one.
void connect_number(directory_person& p, const connect_user_info* info,
                    const std::string& region, std::string& reason) {
  if (info == nullptr || !info->details) {
    reason += "Connect: the agent's phone settings are not read yet";
    return;
  }
  const auto& d = *info->details;
  struct candidate {
    const std::string* text;
    const char* source;
  };
  for (auto c : {candidate{&d.desk_phone_number, "connect_desk"},
                 candidate{&d.mobile, "connect_mobile"}}) {
    if (c.text->empty()) {
      continue;
    }
    auto n = graph::normalize_e164(*c.text, region);
    if (n) {
      p.number = n->number;
      p.extension = n->extension;
      p.number_source = c.source;
      return;
    }
    reason +=
      std::string{"Connect "} + c.source + ": " + n.err().context + "; ";
  }
  reason += "Connect: no desk phone or mobile number";
}

directory_person make_person(const directory_inputs& in,
                             const matched_person& m) {
  directory_person p;
  p.id = m.id;
  std::string reason;

  if (m.teams) {
    const auto& acc = in.teams[*m.teams];
    p.graph_id = acc.graph_id;
    p.upn = acc.upn;
    p.display_name = acc.display_name;
    p.email = acc.mail.empty() ? acc.upn : acc.mail;
    auto e = in.teams_entries.find(acc.graph_id);
    if (e != in.teams_entries.end() && e->second.phone_e164) {
      p.number = *e->second.phone_e164;
      p.extension = e->second.phone_extension;
      p.number_source = std::string{graph::to_string(e->second.phone_from)};
    } else if (e != in.teams_entries.end()) {
      reason = "Teams: " + e->second.not_dialable_reason;
    }
  }

  const connect_user_info* info = nullptr;
  if (m.connect) {
    const auto& ag = in.agents[*m.connect];
    p.agent_id = ag.user_id;
    p.username = ag.username;
    auto i = in.connect_users.find(ag.user_id);
    if (i != in.connect_users.end()) {
      info = &i->second;
      p.agent_arn = info->summary.arn;
    }
    const auto* d = info && info->details ? &*info->details : nullptr;
    if (p.display_name.empty() && d != nullptr) {
      p.display_name =
        d->first_name +
        (d->first_name.empty() || d->last_name.empty() ? "" : " ") +
        d->last_name;
    }
    if (p.display_name.empty()) {
      p.display_name = ag.username;
    }
    if (p.email.empty()) {
      p.email = d != nullptr && !d->email.empty() ? d->email : ag.email;
    }
    if (p.number.empty()) {
      if (!reason.empty()) {
        reason += "; ";
      }
      connect_number(p, info, in.default_region, reason);
    }
  }
  if (p.display_name.empty()) {
    p.display_name = p.email.empty() ? p.id : p.email;
  }
  if (p.number.empty()) {
    p.not_dialable_reason =
      reason.empty() ? "no phone number in either directory" : reason;
  }

  p.sort_key = lower_ascii(p.display_name) + '\x1f' + p.id;
  p.haystack = lower_ascii(p.display_name) + '\n' + lower_ascii(p.email) +
               '\n' + lower_ascii(p.upn) + '\n' + lower_ascii(p.username) +
               '\n' + digits_of(p.number);
  return p;
}

/// The route table: desk phones of every Connect user (a number two of
/// them share routes to nobody), then the mapping file over them.
std::vector<route_entry>
make_routes(const directory_inputs& in,
            const std::vector<directory_person>& people,
            std::vector<std::string>& problems) {
  std::map<std::string, std::string> person_of_agent;
  for (const auto& p : people) {
    if (p.has_connect()) {
      person_of_agent[p.agent_id] = p.id;
    }
  }
  auto entry_for = [&](const connect_user_info& u, std::string number,
                       std::string ext, const char* source) {
    route_entry r;
    r.number = std::move(number);
    r.extension = std::move(ext);
    r.agent_id = u.summary.id;
    r.agent_arn = u.summary.arn;
    r.username = u.summary.username;
    auto p = person_of_agent.find(u.summary.id);
    r.person = p == person_of_agent.end() ? u.summary.id : p->second;
    r.source = source;
    return r;
  };

  std::map<std::pair<std::string, std::string>, route_entry> table;
  std::map<std::pair<std::string, std::string>, std::vector<std::string>>
    shared;
  for (const auto& [id, u] : in.connect_users) {
    if (!u.details || u.details->desk_phone_number.empty()) {
      continue;
    }
    auto n =
      graph::normalize_e164(u.details->desk_phone_number, in.default_region);
    if (!n) {
      continue;
    }
    auto key = std::make_pair(n->number, n->extension);
    if (auto i = table.find(key); i != table.end()) {
      shared[key].push_back(i->second.username);
      shared[key].push_back(u.summary.username);
      continue;
    }
    table.emplace(key, entry_for(u, n->number, n->extension, "connect"));
  }
  for (const auto& [key, names] : shared) {
    table.erase(key);
    std::string who;
    for (const auto& n : names) {
      who += (who.empty() ? "" : ", ") + n;
    }
    problems.push_back("desk phone " + log::mask_phone(key.first) +
                       " is shared by " + who + "; it routes to nobody");
  }

  std::unordered_map<std::string, const connect_user_info*> by_name;
  for (const auto& [id, u] : in.connect_users) {
    by_name[lower_ascii(id)] = &u;
    by_name[lower_ascii(u.summary.username)] = &u;
  }
  for (const auto& m : in.did_mapping) {
    auto u = by_name.find(lower_ascii(m.agent));
    if (u == by_name.end()) {
      problems.push_back("did_mapping_file line " + std::to_string(m.line) +
                         ": no Connect user " + m.agent);
      continue;
    }
    table[{m.number, m.extension}] =
      entry_for(*u->second, m.number, m.extension, "mapping");
  }

  std::vector<route_entry> out;
  for (auto& [key, r] : table) {
    out.push_back(std::move(r));
  }
  return out;
}

constexpr std::string_view b64 =
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr std::string_view cursor_prefix = "c1:";

} // namespace

std::string lower_ascii(std::string_view text) {
  std::string out{text};
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

directory_snapshot::directory_snapshot(std::vector<directory_person> people,
                                       std::vector<route_entry> routes,
                                       std::vector<std::string> problems,
                                       uint64_t version)
  : people_(std::move(people)), problems_(std::move(problems)),
    version_(version) {
  std::sort(people_.begin(), people_.end(), [](const auto& a, const auto& b) {
    return a.sort_key < b.sort_key;
  });
  for (size_t i = 0; i < people_.size(); ++i) {
    const auto& p = people_[i];
    by_id_.emplace(p.id, i);
    if (p.has_connect()) {
      by_agent_.emplace(lower_ascii(p.agent_id), i);
      by_agent_.emplace(lower_ascii(p.username), i);
    }
  }
  for (auto& r : routes) {
    auto key = std::make_pair(r.number, r.extension);
    routes_.emplace(std::move(key), std::move(r));
  }
}

const directory_person* directory_snapshot::find(std::string_view id) const {
  auto i = by_id_.find(std::string{id});
  return i == by_id_.end() ? nullptr : &people_[i->second];
}

const directory_person*
directory_snapshot::find_agent(std::string_view agent) const {
  auto i = by_agent_.find(lower_ascii(agent));
  return i == by_agent_.end() ? nullptr : &people_[i->second];
}

route_answer directory_snapshot::route(const std::string& number,
                                       const std::string& extension) const {
  route_answer out;
  if (auto i = routes_.find({number, extension}); i != routes_.end()) {
    out.entry = &i->second;
    return out;
  }
  if (!extension.empty()) {
    if (auto i = routes_.find({number, ""}); i != routes_.end()) {
      out.entry = &i->second;
      return out;
    }
  }
  auto any_ext = routes_.lower_bound({number, ""});
  if (!extension.empty() && any_ext != routes_.end() &&
      any_ext->first.first == number) {
    out.reason = "no agent has this extension on this number";
  } else {
    out.reason = "no agent has this direct number";
  }
  return out;
}

std::shared_ptr<const directory_snapshot>
build_directory_snapshot(const directory_inputs& in, uint64_t version) {
  std::vector<directory_person> people;
  people.reserve(in.people.people.size());
  for (const auto& m : in.people.people) {
    people.push_back(make_person(in, m));
  }
  std::vector<std::string> problems;
  auto routes = make_routes(in, people, problems);
  return std::make_shared<const directory_snapshot>(
    std::move(people), std::move(routes), std::move(problems), version);
}

// -- queries -----------------------------------------------------------------

directory_page query_directory(const directory_snapshot& snap,
                               const presence_board& board,
                               const directory_query& query) {
  directory_page page;
  const auto& people = snap.people();

  // A query of digits (and phone punctuation) also matches numbers
  // written differently: "+1 (555) 010" finds +1555010....
  std::string q_digits;
  bool phone_like = !query.q.empty();
  for (char c : query.q) {
    if (c >= '0' && c <= '9') {
      q_digits += c;
    } else if (c != ' ' && c != '+' && c != '-' && c != '(' && c != ')' &&
               c != '.') {
      phone_like = false;
    }
  }
  phone_like = phone_like && q_digits.size() >= 3;

  bool any = query.presence.empty();
  std::array<bool, presence_category_count> wanted{};
  for (auto c : query.presence) {
    wanted[static_cast<size_t>(c)] = true;
  }

  board.read_all([&](const auto& live_of) {
    static const live_state none;
    for (const auto& p : people) {
      if (!query.q.empty() && p.haystack.find(query.q) == std::string::npos &&
          !(phone_like && p.haystack.find(q_digits) != std::string::npos)) {
        continue;
      }
      const auto* live = live_of(p.id);
      if (live == nullptr) {
        live = &none;
      }
      if (!any && !wanted[static_cast<size_t>(category_of(*live))]) {
        continue;
      }
      ++page.total;
      if (!query.after.empty() && p.sort_key <= query.after) {
        continue;
      }
      if (page.items.size() < query.limit) {
        page.items.push_back(&p);
        page.live.push_back(*live);
      } else if (!page.next_after) {
        page.next_after = page.items.back()->sort_key;
      }
    }
  });
  return page;
}

std::string encode_cursor(std::string_view sort_key) {
  std::string in = std::string{cursor_prefix} + std::string{sort_key};
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char ch : in) {
    acc = (acc << 8) | static_cast<unsigned char>(ch);
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += b64[(acc >> bits) & 0x3f];
    }
  }
  if (bits > 0) {
    out += b64[(acc << (6 - bits)) & 0x3f];
  }
  return out;
}

std::optional<std::string> decode_cursor(std::string_view cursor) {
  if (cursor.size() > 2048) {
    return std::nullopt;
  }
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : cursor) {
    auto v = b64.find(c);
    if (v == std::string_view::npos) {
      return std::nullopt;
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  if (!out.starts_with(cursor_prefix) || out.size() == cursor_prefix.size()) {
    return std::nullopt;
  }
  return out.substr(cursor_prefix.size());
}

void append_person_json(std::string& out, const directory_person& p,
                        const live_state& live) {
  auto field = [&](std::string_view name, const std::string& value) {
    out += '"';
    out += name;
    out += "\":";
    append_json_string(out, value);
  };
  auto optional_field = [&](std::string_view name, const std::string& value) {
    if (value.empty()) {
      out += '"';
      out += name;
      out += "\":null";
    } else {
      field(name, value);
    }
  };

  out += '{';
  field("id", p.id);
  out += ',';
  field("display_name", p.display_name);
  out += ',';
  optional_field("email", p.email);
  out += R"(,"teams":)";
  if (p.has_teams()) {
    out += '{';
    field("id", p.graph_id);
    out += ',';
    field("upn", p.upn);
    out += '}';
  } else {
    out += "null";
  }
  out += R"(,"connect":)";
  if (p.has_connect()) {
    out += '{';
    field("id", p.agent_id);
    out += ',';
    optional_field("arn", p.agent_arn);
    out += ',';
    field("username", p.username);
    out += '}';
  } else {
    out += "null";
  }
  out += R"(,"dialable":)";
  out += p.dialable() ? "true," : "false,";
  optional_field("number", p.number);
  out += ',';
  optional_field("extension", p.extension);
  out += ',';
  optional_field("number_source", p.number_source);
  out += ',';
  optional_field("not_dialable_reason", p.not_dialable_reason);
  out += R"(,"state":)";
  append_live_json(out, live);
  out += '}';
}

} // namespace presync::app
