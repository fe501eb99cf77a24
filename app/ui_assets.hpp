// The status drawer page's files (ui/ in the repository), built into the
// binary by ui/CMakeLists.txt so that /ui/ never reads the file system.
#pragma once

#include <string_view>

namespace presync::app {

/// One file of the page.
struct ui_asset {
  std::string_view name; ///< "index.html", "app.js": no folders
  std::string_view content_type;
  std::string_view body;
};

/// Returns the file called `name`, or null. Only exact names match.
const ui_asset* find_ui_asset(std::string_view name);

} // namespace presync::app
