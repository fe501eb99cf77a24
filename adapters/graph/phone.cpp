#include "adapters/graph/phone.hpp"

#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>

#include <algorithm>
#include <array>
#include <cctype>

namespace presync::graph {

namespace {

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

bool is_alpha(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) != 0;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

std::string lower(std::string_view s) {
  std::string out{s};
  std::transform(out.begin(), out.end(), out.begin(), [](char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  });
  return out;
}

error not_dialable(std::string_view why) {
  return make_error(sync_error::rejected, "phone number: " + std::string{why});
}

} // namespace

expected<e164_number> normalize_e164(std::string_view text,
                                     std::string_view default_region) {
  // Step 2: split off an extension at its first marker.
  auto folded = lower(text);
  std::string_view main = text;
  std::string extension;
  constexpr std::array<std::string_view, 5> markers = {";ext=", "ext.", "ext",
                                                       "x", "#"};
  for (auto marker : markers) {
    auto at = folded.find(marker);
    if (at == std::string::npos) {
      continue;
    }
    auto rest = std::string_view{text}.substr(at + marker.size());
    for (char c : rest) {
      if (is_digit(c)) {
        extension += c;
      } else if (c != ' ' && c != '.' && c != ':' && c != '-') {
        return not_dialable("extension is not numeric");
      }
    }
    if (extension.empty()) {
      return not_dialable("extension marker without digits");
    }
    main = std::string_view{text}.substr(0, at);
    break;
  }

  // Steps 1, 3, 5: keep + and digits, reject letters and long numbers.
  std::string compact;
  for (char c : main) {
    if (is_alpha(c)) {
      return not_dialable("contains letters");
    }
    if (is_digit(c) || c == '+') {
      compact += c;
    } else if (c != ' ' && c != '-' && c != '.' && c != '(' && c != ')' &&
               c != '/' && c != '\t') {
      return not_dialable("contains unexpected characters");
    }
  }
  if (compact.empty()) {
    return not_dialable("empty");
  }
  if (compact.find('+', 1) != std::string::npos) {
    return not_dialable("misplaced +");
  }
  auto digits = std::count_if(compact.begin(), compact.end(), is_digit);
  if (compact.front() == '+' && digits > 15) {
    return not_dialable("more than 15 digits");
  }

  // Step 4: the library applies the default region, trunk and
  // international prefixes (00, 011) and validates.
  auto* util = PhoneNumberUtil::GetInstance();
  PhoneNumber parsed;
  auto rc = util->Parse(compact, std::string{default_region}, &parsed);
  if (rc != PhoneNumberUtil::NO_PARSING_ERROR) {
    switch (rc) {
    case PhoneNumberUtil::INVALID_COUNTRY_CODE_ERROR:
      return not_dialable("no country code and no usable default region");
    case PhoneNumberUtil::TOO_SHORT_NSN:
    case PhoneNumberUtil::TOO_SHORT_AFTER_IDD:
      return not_dialable("too short");
    case PhoneNumberUtil::TOO_LONG_NSN:
      return not_dialable("too long");
    default:
      return not_dialable("cannot be parsed");
    }
  }
  if (!util->IsValidNumber(parsed)) {
    return not_dialable("not a valid number");
  }
  e164_number out;
  util->Format(parsed, PhoneNumberUtil::E164, &out.number);
  if (out.number.size() > 16) {
    return not_dialable("more than 15 digits");
  }
  out.extension = std::move(extension);
  return out;
}

} // namespace presync::graph
