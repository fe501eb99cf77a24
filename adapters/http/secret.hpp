// The HTTP layer's secrets are the project-wide masked type.
#pragma once

#include "protocol/secret.hpp"

namespace presync::http {

using presync::secret;
using presync::to_string;

} // namespace presync::http
