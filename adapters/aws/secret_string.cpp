#include "adapters/aws/secret_string.hpp"

#include <ostream>

namespace presync::aws {

std::ostream& operator<<(std::ostream& out, const secret_string&) {
  return out << secret_string::mask;
}

std::string to_string(const secret_string&) {
  return std::string{secret_string::mask};
}

} // namespace presync::aws
