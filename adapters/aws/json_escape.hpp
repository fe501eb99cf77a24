// JSON string writing for the AWS adapters is the project-wide routine.
#pragma once

#include "protocol/json_text.hpp"

namespace presync::aws {

using presync::append_json_string;
using presync::json_string;

} // namespace presync::aws
