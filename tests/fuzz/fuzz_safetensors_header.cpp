// libFuzzer entry point for the safetensors header parser; the input is a whole file. Assumes that
// anything but success or SafetensorsError (a crash, another exception, an ASan report) is a bug.

// Not built by CMake yet; by hand, for example:
//   clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -Iengine -I<nlohmann include>
//     tests/fuzz/fuzz_safetensors_header.cpp engine/io/safetensors_format.cpp -o fuzz_st
//   ./fuzz_st tests/fuzz/corpus/safetensors
#include <cstddef>
#include <cstdint>

#include "io/safetensors_format.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const auto header = ctx::io::parse_safetensors_header(data, size, size, "fuzz.safetensors");
    // Whatever parsed must describe bytes inside the input.
    for (const auto& t : header.tensors) {
      if (t.end > header.data_size || header.data_offset + header.data_size != size)
        __builtin_trap();
    }
  } catch (const ctx::io::SafetensorsError&) {
  }
  return 0;
}
