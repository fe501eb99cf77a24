#include "protocol/person_record.hpp"

#include <algorithm>
#include <charconv>
#include <map>
#include <utility>
#include <vector>

namespace presync {

namespace {

constexpr std::string_view header = "presync.person ";

// -- text ------------------------------------------------------------------

void append_escaped(std::string& out, std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  for (char c : text) {
    if (c == '%' || c == '|' || c == '\n' || c == '\r') {
      auto u = static_cast<unsigned char>(c);
      out += '%';
      out += hex[u >> 4];
      out += hex[u & 0xF];
    } else {
      out += c;
    }
  }
}

std::optional<std::string> unescape(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size()) {
      return std::nullopt;
    }
    unsigned value = 0;
    auto [end, ec] =
      std::from_chars(text.data() + i + 1, text.data() + i + 3, value, 16);
    if (ec != std::errc{} || end != text.data() + i + 3) {
      return std::nullopt;
    }
    out += static_cast<char>(value);
    i += 2;
  }
  return out;
}

/// Splits on `|` and unescapes each part; nullopt on a bad escape.
std::optional<std::vector<std::string>> split(std::string_view text) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    auto bar = text.find('|', start);
    auto part = unescape(text.substr(start, bar - start));
    if (!part) {
      return std::nullopt;
    }
    out.push_back(std::move(*part));
    if (bar == std::string_view::npos) {
      return out;
    }
    start = bar + 1;
  }
}

std::optional<int64_t> to_int(std::string_view text) {
  int64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) {
    return std::nullopt;
  }
  return n;
}

std::optional<bool> to_bool(std::string_view text) {
  if (text == "1") {
    return true;
  }
  if (text == "0") {
    return false;
  }
  return std::nullopt;
}

/// Builds one `key=a|b|c` line.
class line_writer {
 public:
  explicit line_writer(std::string& out) : out_(out) {}

  line_writer& key(std::string_view k) {
    out_ += k;
    out_ += '=';
    first_ = true;
    return *this;
  }
  line_writer& part(std::string_view v) {
    if (!first_) {
      out_ += '|';
    }
    first_ = false;
    append_escaped(out_, v);
    return *this;
  }
  line_writer& part(int64_t n) { return part(std::to_string(n)); }
  line_writer& part(bool b) { return part(std::string_view{b ? "1" : "0"}); }
  line_writer& target(const teams_target& t) {
    if (t.is_clear()) {
      return part(std::string_view{"clear"});
    }
    return part(t.value->availability).part(t.value->activity);
  }
  void end() { out_ += '\n'; }

 private:
  std::string& out_;
  bool first_ = true;
};

/// The parts of one field, read front to back.
class part_reader {
 public:
  part_reader(std::string field, std::vector<std::string> parts)
    : field_(std::move(field)), parts_(std::move(parts)) {}

  const std::string& field() const { return field_; }
  size_t left() const { return parts_.size() - next_; }

  std::optional<std::string> text() {
    if (next_ >= parts_.size()) {
      return std::nullopt;
    }
    return parts_[next_++];
  }
  std::optional<int64_t> number() {
    auto t = text();
    return t ? to_int(*t) : std::nullopt;
  }
  std::optional<bool> flag() {
    auto t = text();
    return t ? to_bool(*t) : std::nullopt;
  }
  /// A target takes the rest of the parts: "clear" or availability and
  /// activity.
  std::optional<teams_target> target() {
    if (left() == 1 && parts_[next_] == "clear") {
      ++next_;
      return teams_target::clear();
    }
    if (left() != 2) {
      return std::nullopt;
    }
    auto a = text();
    auto b = text();
    return teams_target::of(presence{*a, *b});
  }

 private:
  std::string field_;
  std::vector<std::string> parts_;
  size_t next_ = 0;
};

error record_error(const std::string& person, const std::string& what) {
  return make_error(sync_error::malformed,
                    "stored record of person " + person + ": " + what);
}

} // namespace

/// Reads and writes the private state of a person (a friend of person).
struct person_record_access {
  using match_record = person::match_record;

  static void put_match(line_writer& w, std::string_view key,
                        const match_record& m) {
    w.key(key)
      .part(m.rule_key)
      .part(m.set_status)
      .part(m.replaced)
      .part(m.restore_on_exit)
      .part(m.untouched)
      .end();
  }

  static std::string encode(const person& p, const record_clock& c) {
    std::string out{header};
    out += std::to_string(person_record_version);
    out += '\n';
    line_writer w{out};
    w.key("id").part(p.id_).end();
    w.key("sides").part(p.has_teams_).part(p.has_connect_).end();
    w.key("connect_state").part(p.connect_state_).end();
    w.key("agent_status").part(p.agent_status_).end();
    if (p.connect_source_ms_) {
      w.key("connect_source_ms").part(*p.connect_source_ms_).end();
    }
    w.key("teams_observed")
      .part(p.teams_observed_.get().availability)
      .part(p.teams_observed_.get().activity)
      .end();
    if (p.teams_source_ms_) {
      w.key("teams_source_ms").part(*p.teams_source_ms_).end();
    }
    if (p.session_known_) {
      w.key("session").target(p.session_).end();
    }
    if (p.session_posted_at_) {
      w.key("session_posted_ms").part(c.to_wall(*p.session_posted_at_)).end();
    }
    if (p.teams_pending_) {
      w.key("teams_pending")
        .part(p.teams_pending_for_contact_)
        .target(*p.teams_pending_)
        .end();
    }
    if (p.teams_withdrawn_) {
      w.key("teams_withdrawn").target(*p.teams_withdrawn_).end();
    }
    if (const auto& cp = p.connect_pending_) {
      w.key("connect_pending")
        .part(cp->status)
        .part(cp->restore)
        .part(cp->withdrawn)
        .part(cp->put_back)
        .end();
      if (cp->record) {
        put_match(w, "connect_pending_match", *cp->record);
      }
    }
    if (const auto& h = p.c2t_hold_) {
      w.key("c2t_hold")
        .part(c.to_wall(h->due))
        .part(h->chained)
        .target(h->target)
        .end();
    }
    if (const auto& h = p.t2c_hold_) {
      w.key("t2c_hold").part(c.to_wall(h->due)).part(h->chained).end();
      w.key("t2c_rule")
        .part(h->key)
        .part(h->rule.what == teams_rule::action::set_status)
        .part(h->rule.status)
        .part(h->rule.never_during_contact)
        .part(h->rule.restore_on_exit);
      for (const auto& s : h->rule.only_when_connect_in) {
        w.part(s);
      }
      w.end();
    }
    if (const auto& h = p.exit_hold_) {
      w.key("exit_hold").part(c.to_wall(h->due)).part(h->chained).end();
    }
    if (const auto& d = p.deferral_) {
      w.key("deferral").part(d->restore).part(d->chained);
      if (d->due) {
        w.part(c.to_wall(*d->due));
      }
      w.end();
    }
    if (p.match_) {
      put_match(w, "match", *p.match_);
    }
    if (p.pending_restore_) {
      put_match(w, "pending_restore", *p.pending_restore_);
    }
    if (p.chain_ != 0) {
      w.key("chain").part(int64_t{p.chain_}).end();
    }
    if (p.paused_until_) {
      w.key("paused_until_ms").part(c.to_wall(*p.paused_until_)).end();
    }
    return out;
  }

  // -- reading --------------------------------------------------------------

  using fields = std::map<std::string, part_reader>;

  static std::optional<match_record> read_match(part_reader& r) {
    match_record m;
    auto key = r.text();
    auto set = r.text();
    auto replaced = r.text();
    auto restore = r.flag();
    auto untouched = r.flag();
    if (!key || !set || !replaced || !restore || !untouched || r.left()) {
      return std::nullopt;
    }
    m.rule_key = std::move(*key);
    m.set_status = std::move(*set);
    m.replaced = std::move(*replaced);
    m.restore_on_exit = *restore;
    m.untouched = *untouched;
    return m;
  }

  /// Fills `p` from the fields; returns the first field that is wrong.
  static std::optional<std::string> read(person& p, fields& f,
                                         const record_clock& c) {
    auto bad = [](const part_reader& r) {
      return std::optional<std::string>{"field " + r.field() + " is damaged"};
    };
    auto take = [&](const char* key) -> part_reader* {
      auto i = f.find(key);
      return i == f.end() ? nullptr : &i->second;
    };

    if (auto* r = take("connect_state")) {
      auto v = r->text();
      if (!v || r->left()) {
        return bad(*r);
      }
      p.connect_state_ = std::move(*v);
    }
    if (auto* r = take("agent_status")) {
      auto v = r->text();
      if (!v || r->left()) {
        return bad(*r);
      }
      p.agent_status_ = std::move(*v);
    }
    if (auto* r = take("connect_source_ms")) {
      if (!(p.connect_source_ms_ = r->number()) || r->left()) {
        return bad(*r);
      }
    }
    if (auto* r = take("teams_observed")) {
      auto a = r->text();
      auto b = r->text();
      if (!a || !b || r->left()) {
        return bad(*r);
      }
      p.teams_observed_ = presence{std::move(*a), std::move(*b)};
    }
    if (auto* r = take("teams_source_ms")) {
      if (!(p.teams_source_ms_ = r->number()) || r->left()) {
        return bad(*r);
      }
    }
    if (auto* r = take("session")) {
      auto t = r->target();
      if (!t) {
        return bad(*r);
      }
      p.session_known_ = true;
      p.session_ = std::move(*t);
    }
    if (auto* r = take("session_posted_ms")) {
      auto ms = r->number();
      if (!ms || r->left()) {
        return bad(*r);
      }
      p.session_posted_at_ = c.to_mono(*ms);
    }
    if (auto* r = take("teams_pending")) {
      auto contact = r->flag();
      auto t = r->target();
      if (!contact || !t) {
        return bad(*r);
      }
      p.teams_pending_for_contact_ = *contact;
      p.teams_pending_ = std::move(*t);
    }
    if (auto* r = take("teams_withdrawn")) {
      auto t = r->target();
      if (!t) {
        return bad(*r);
      }
      p.teams_withdrawn_ = std::move(*t);
    }
    if (auto* r = take("connect_pending")) {
      person::connect_write w;
      auto status = r->text();
      auto restore = r->flag();
      auto withdrawn = r->flag();
      auto put_back = r->text();
      if (!status || !restore || !withdrawn || !put_back || r->left()) {
        return bad(*r);
      }
      w.status = std::move(*status);
      w.restore = *restore;
      w.withdrawn = *withdrawn;
      w.put_back = std::move(*put_back);
      if (auto* m = take("connect_pending_match")) {
        if (!(w.record = read_match(*m))) {
          return bad(*m);
        }
      }
      p.connect_pending_ = std::move(w);
    }
    if (auto* r = take("c2t_hold")) {
      auto due = r->number();
      auto chained = r->flag();
      auto t = r->target();
      if (!due || !chained || !t) {
        return bad(*r);
      }
      p.c2t_hold_ = person::c2t_hold_state{*t, c.to_mono(*due), *chained};
    }
    if (auto* r = take("t2c_hold")) {
      auto due = r->number();
      auto chained = r->flag();
      auto* rr = take("t2c_rule");
      if (!due || !chained || r->left() || rr == nullptr) {
        return bad(*r);
      }
      auto key = rr->text();
      auto sets = rr->flag();
      auto status = rr->text();
      auto never = rr->flag();
      auto restore = rr->flag();
      if (!key || !sets || !status || !never || !restore) {
        return bad(*rr);
      }
      teams_rule rule;
      rule.what =
        *sets ? teams_rule::action::set_status : teams_rule::action::ignore;
      rule.status = std::move(*status);
      rule.never_during_contact = *never;
      rule.restore_on_exit = *restore;
      while (auto s = rr->text()) {
        rule.only_when_connect_in.push_back(std::move(*s));
      }
      p.t2c_hold_ = person::t2c_hold_state{std::move(*key), std::move(rule),
                                           c.to_mono(*due), *chained};
    }
    if (auto* r = take("exit_hold")) {
      auto due = r->number();
      auto chained = r->flag();
      if (!due || !chained || r->left()) {
        return bad(*r);
      }
      p.exit_hold_ = person::exit_hold_state{c.to_mono(*due), *chained};
    }
    if (auto* r = take("deferral")) {
      auto restore = r->flag();
      auto chained = r->flag();
      if (!restore || !chained || r->left() > 1) {
        return bad(*r);
      }
      person::deferral_state d{*restore, *chained, std::nullopt};
      if (r->left() == 1) {
        auto due = r->number();
        if (!due) {
          return bad(*r);
        }
        d.due = c.to_mono(*due);
      }
      p.deferral_ = d;
    }
    for (auto [key, slot] :
         {std::pair{"match", &p.match_},
          std::pair{"pending_restore", &p.pending_restore_}}) {
      if (auto* r = take(key)) {
        if (!(*slot = read_match(*r))) {
          return bad(*r);
        }
      }
    }
    if (auto* r = take("chain")) {
      auto n = r->number();
      if (!n || r->left() || *n < 0 || *n > 1000000) {
        return bad(*r);
      }
      p.chain_ = static_cast<int>(*n);
    }
    if (auto* r = take("paused_until_ms")) {
      auto ms = r->number();
      if (!ms || r->left()) {
        return bad(*r);
      }
      p.paused_until_ = c.to_mono(*ms);
    }
    return std::nullopt;
  }

  // -- resuming -------------------------------------------------------------

  /// Decides what became of the writes that were on their way and sets
  /// the machine up to go on at `now` (see the header).
  static void resume(person& p, const resume_facts& facts,
                     const record_clock& c) {
    auto now = c.mono;
    person_effects ignored; // the actor arms pending_timers() itself

    // No echo or chain window survives a restart (DESIGN.md §4, "Start").
    p.last_teams_write_.reset();
    p.last_connect_write_at_.reset();

    // Teams: the store's last confirmed write is what the session shows,
    // unless a withdrawn write's answer never came.
    bool withdrawn_landed = false;
    if (facts.teams && p.teams_withdrawn_) {
      auto t = parse_target(facts.teams->value);
      withdrawn_landed = t && *t == *p.teams_withdrawn_ &&
                         !(p.session_known_ && p.session_ == *t);
    }
    if (facts.teams) {
      if (auto t = parse_target(facts.teams->value)) {
        p.session_known_ = true;
        p.session_ = std::move(*t);
        p.session_posted_at_ = c.to_mono(facts.teams->at_ms);
      }
    }
    // A session in doubt is written again whatever it is believed to show.
    auto put_in_doubt = [&](const std::string& why) {
      p.session_known_ = false;
      p.session_in_doubt_ = true;
      p.note(ignored, now, decision::held, direction::connect_to_teams,
             "Teams session in doubt: " + why + "; written again");
    };
    if (p.teams_pending_) {
      auto pending = std::move(*p.teams_pending_);
      p.teams_pending_.reset();

      // Not in the store: it may have landed (killed between the answer and
      // the commit) or not. What Teams shows cannot tell, as the user's own
      // clients count in it too, so the session is in doubt and the write is
      // made again.
      if (!(p.session_known_ && p.session_ == pending)) {
        put_in_doubt("the answer to " + pending.describe() +
                     " never reached the store");
        if (!p.c2t_hold_) {
          p.c2t_hold_ = person::c2t_hold_state{std::move(pending), now, false};
        }
      }
    }
    if (p.teams_withdrawn_) {
      auto withdrawn = std::move(*p.teams_withdrawn_);
      p.teams_withdrawn_.reset();
      if (!withdrawn_landed) {
        put_in_doubt("a withdrawn write of " + withdrawn.describe() +
                     " may have landed");
      }
      // Either way the session is brought back to the projection.
      auto target = p.settings_->connect_to_teams.lookup(p.connect_state_);
      if (target && !p.c2t_hold_ && !p.is_paused(now) &&
          p.settings_->syncs_connect_to_teams() &&
          !(p.session_known_ && p.session_ == *target)) {
        p.c2t_hold_ = person::c2t_hold_state{std::move(*target), now, false};
      }
    }
    if (p.session_known_ && p.session_posted_at_) {
      p.schedule_refresh(*p.session_posted_at_, ignored);
    } else if (p.session_known_) {
      p.schedule_refresh(now, ignored);
    }

    // Connect: a write the agent shows now, or that the store confirmed
    // after the last Connect event the person applied, happened.
    if (p.connect_pending_) {
      auto w = std::move(*p.connect_pending_);
      p.connect_pending_.reset();
      bool shown =
        facts.connect_state_now && iequals(*facts.connect_state_now, w.status);
      bool confirmed =
        facts.connect && iequals(facts.connect->value, w.status) &&
        (!p.connect_source_ms_ || facts.connect->at_ms > *p.connect_source_ms_);
      auto restore_to = [&](std::string status) {
        person::match_record rec;
        rec.replaced = std::move(status);
        rec.restore_on_exit = true;
        p.pending_restore_ = std::move(rec);
        p.deferral_ = person::deferral_state{true, false, now};
      };
      if (w.withdrawn && w.restore) {
        // Withdrawn for a new intent. Had it landed anyway, its match is
        // over and the Teams key as it is now is that intent, as the
        // person does when it hears of such a write.
        if (shown || confirmed) {
          p.agent_status_ = w.status;
          p.match_.reset();
          p.hold_current_teams_intent(now, ignored);
        }
      } else if (w.withdrawn) {
        // Its reason ended. Had it landed anyway, what the agent had when
        // it was withdrawn is put back, as the person does when it hears
        // of such a write (through the restore's checks).
        if ((shown || confirmed) && !p.deferral_ && !w.put_back.empty() &&
            !is_system_state(w.put_back) && !iequals(w.put_back, w.status)) {
          p.agent_status_ = w.status;
          restore_to(w.put_back);
        }
      } else if (shown || confirmed) {
        p.agent_status_ = w.status;
        if (w.record &&
            !w.restore) { // a restore's record is the match it ended
          p.match_ = std::move(w.record);
        }
      } else if (w.restore && !p.deferral_) {
        restore_to(w.status); // asked again through the restore's checks
      } else if (w.record && !p.t2c_hold_) {
        // Asked again through the rule's checks (contact, agent status).
        // The rule as configured now, if it still asks for this status.
        auto rule = teams_rule::set(w.status);
        rule.restore_on_exit = w.record->restore_on_exit;
        for (const auto& [key, r] : p.settings_->teams_to_connect.entries) {
          if (iequals(key, w.record->rule_key) &&
              r.what == teams_rule::action::set_status &&
              iequals(r.status, w.status)) {
            rule = r;
          }
        }
        p.t2c_hold_ =
          person::t2c_hold_state{w.record->rule_key, std::move(rule), now};
      }
    }
  }

  static std::optional<teams_target> parse_target(const std::string& text) {
    if (text == "clear") {
      return teams_target::clear();
    }
    if (auto pr = parse_presence(text)) {
      return teams_target::of(std::move(*pr));
    }
    return std::nullopt;
  }
};

std::string encode_person_record(const person& p, const record_clock& now) {
  return person_record_access::encode(p, now);
}

expected<person> resume_person(std::string_view record, const person_init& init,
                               std::shared_ptr<const sync_settings> settings,
                               const resume_facts& facts,
                               const record_clock& now) {
  // The header names the format.
  auto nl = record.find('\n');
  auto first = record.substr(0, nl);
  if (first.substr(0, header.size()) != header) {
    return record_error(init.id, "not a presync person record");
  }
  auto version = to_int(first.substr(header.size()));
  if (!version || *version < 1) {
    return record_error(init.id, "unreadable record version");
  }
  if (*version > person_record_version) {
    return record_error(init.id, "record version " + std::to_string(*version) +
                                   " is newer than this presync's (" +
                                   std::to_string(person_record_version) + ")");
  }

  // One field per line, each known and given once.
  static const std::vector<std::string_view> known{"id",
                                                   "sides",
                                                   "connect_state",
                                                   "agent_status",
                                                   "connect_source_ms",
                                                   "teams_observed",
                                                   "teams_source_ms",
                                                   "session",
                                                   "session_posted_ms",
                                                   "teams_pending",
                                                   "teams_withdrawn",
                                                   "connect_pending",
                                                   "connect_pending_match",
                                                   "c2t_hold",
                                                   "t2c_hold",
                                                   "t2c_rule",
                                                   "exit_hold",
                                                   "deferral",
                                                   "match",
                                                   "pending_restore",
                                                   "chain",
                                                   "paused_until_ms"};
  person_record_access::fields f;
  size_t at = nl == std::string_view::npos ? record.size() : nl + 1;
  while (at < record.size()) {
    auto end = record.find('\n', at);
    auto line =
      record.substr(at, end == std::string_view::npos ? end : end - at);
    at = end == std::string_view::npos ? record.size() : end + 1;
    if (line.empty()) {
      continue;
    }
    auto eq = line.find('=');
    auto key = std::string{line.substr(0, eq)};
    if (eq == std::string_view::npos ||
        std::find(known.begin(), known.end(), key) == known.end()) {
      return record_error(init.id, "unknown field '" + key + "'");
    }
    auto parts = split(line.substr(eq + 1));
    if (!parts) {
      return record_error(init.id, "field " + key + " is damaged");
    }
    if (!f.emplace(key, part_reader{key, std::move(*parts)}).second) {
      return record_error(init.id, "field " + key + " appears twice");
    }
  }

  // The record must be this person's, with the sides it has now.
  auto id = f.find("id");
  auto sides = f.find("sides");
  if (id == f.end() || sides == f.end()) {
    return record_error(init.id, "field id or sides is missing");
  }
  if (id->second.text() != init.id) {
    return record_error(init.id, "the record is another person's");
  }
  auto has_teams = sides->second.flag();
  auto has_connect = sides->second.flag();
  if (!has_teams || !has_connect) {
    return record_error(init.id, "field sides is damaged");
  }
  if (*has_teams != init.has_teams || *has_connect != init.has_connect) {
    return record_error(init.id, "the person's accounts changed since");
  }

  person p{init, std::move(settings)};
  if (auto wrong = person_record_access::read(p, f, now)) {
    return record_error(init.id, *wrong);
  }
  person_record_access::resume(p, facts, now);
  return p;
}

} // namespace presync
