#include "actors/messages.hpp"

namespace presync::actors {

const std::string& person_of(const person_input& in) {
  return std::visit(
    [](const auto& x) -> const std::string& {
      using t = std::decay_t<decltype(x)>;
      if constexpr (std::is_same_v<t, write_result> ||
                    std::is_same_v<t, write_waiting>) {
        return x.request.person;
      } else {
        return x.person;
      }
    },
    in);
}

} // namespace presync::actors
