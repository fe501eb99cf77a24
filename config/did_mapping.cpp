#include "config/did_mapping.hpp"

#include <algorithm>
#include <set>
#include <utility>

namespace presync::config {

namespace {

std::string_view trim(std::string_view s) {
  auto b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) {
    return {};
  }
  auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

std::vector<std::string_view> split_commas(std::string_view line) {
  std::vector<std::string_view> out;
  for (;;) {
    auto comma = line.find(',');
    out.push_back(trim(line.substr(0, comma)));
    if (comma == std::string_view::npos) {
      return out;
    }
    line.remove_prefix(comma + 1);
  }
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

/// Returns "+" and the digits of an international number, or a reason.
std::pair<std::string, std::string> read_number(std::string_view text) {
  if (text.empty() || text.front() != '+') {
    return {"", "expected a number in international form starting with +"};
  }
  std::string out = "+";
  for (char c : text.substr(1)) {
    if (is_digit(c)) {
      out += c;
    } else if (c != ' ' && c != '-' && c != '.' && c != '(' && c != ')') {
      return {"", "the number may hold only digits, spaces, - . ( and )"};
    }
  }
  // E.164: at most 15 digits; some countries have 7 in all.
  auto digits = out.size() - 1;
  if (digits < 7 || digits > 15 || out[1] == '0') {
    return {"", "expected 7 to 15 digits after +, not starting with 0"};
  }
  return {out, ""};
}

} // namespace

did_mapping parse_did_mapping(std::string_view text) {
  did_mapping out;
  std::set<std::pair<std::string, std::string>> seen;
  size_t n = 0;
  while (!text.empty()) {
    ++n;
    auto nl = text.find('\n');
    auto line = trim(text.substr(0, nl));
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (line.empty() || line.front() == '#') {
      continue;
    }

    auto at = "line " + std::to_string(n) + ": ";
    auto fields = split_commas(line);
    if (fields.size() < 2 || fields.size() > 3) {
      out.problems.push_back(at + "expected 'number,agent' or "
                                  "'number,extension,agent'");
      continue;
    }
    auto [number, why] = read_number(fields[0]);
    if (number.empty()) {
      out.problems.push_back(at + why);
      continue;
    }
    std::string ext{fields.size() == 3 ? fields[1] : std::string_view{}};
    if (ext.size() > 10 || !std::all_of(ext.begin(), ext.end(), is_digit)) {
      out.problems.push_back(at + "the extension must be 1 to 10 digits");
      continue;
    }
    std::string agent{fields.back()};
    if (agent.empty()) {
      out.problems.push_back(at + "the agent (Connect user id or username) "
                                  "is missing");
      continue;
    }
    if (!seen.insert({number, ext}).second) {
      out.problems.push_back(at + "this number" +
                             (ext.empty() ? "" : " and extension") +
                             " is listed twice");
      continue;
    }
    out.entries.push_back(
      {std::move(number), std::move(ext), std::move(agent), n});
  }
  return out;
}

} // namespace presync::config
