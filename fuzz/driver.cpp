// libFuzzer's entry for one target: PRESYNC_FUZZ_ENTRY names the function
// of fuzz/targets.hpp this executable drives (fuzz/CMakeLists.txt).
#include "fuzz/targets.hpp"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  presync::fuzz::PRESYNC_FUZZ_ENTRY(
    std::string_view{reinterpret_cast<const char*>(data), size});
  return 0;
}
