// AWS secret keys and session tokens are the project-wide masked type.
#pragma once

#include "protocol/secret.hpp"

namespace presync::aws {

using secret_string = presync::secret;
using presync::to_string;

} // namespace presync::aws
