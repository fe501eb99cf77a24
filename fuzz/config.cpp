#include "fuzz/targets.hpp"

#include "config/config.hpp"
#include "config/did_mapping.hpp"

namespace presync::fuzz {

void config(std::string_view data) {
  // Every variable a config names is set, so the loader reads on past the
  // secrets check; the values are fixed and never secret.
  auto env = [](std::string_view name) -> std::optional<std::string> {
    if (name.empty()) {
      return std::nullopt;
    }
    return std::string{"fuzz-value"};
  };
  config::diagnostics diags{"fuzz.yaml"};
  (void)config::load_config_text(data, diags, env);

  (void)config::parse_did_mapping(data);
}

} // namespace presync::fuzz
