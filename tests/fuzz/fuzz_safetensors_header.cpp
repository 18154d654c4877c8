// Fuzz target: the safetensors header parser on a whole file. Anything but success or
// SafetensorsError (a crash, another exception, a sanitizer report) is a bug.
#include "fuzz/fuzz_target.h"
#include "io/safetensors_format.h"

CTXLAB_FUZZ_TARGET(safetensors) {
  try {
    const auto header = ctx::io::parse_safetensors_header(data, size, size, "fuzz.safetensors");
    // Whatever parsed must describe bytes inside the input.
    CTXLAB_FUZZ_CHECK(header.data_offset + header.data_size == size, "data region past the file");
    for (const auto& t : header.tensors)
      CTXLAB_FUZZ_CHECK(t.end <= header.data_size, "tensor past the data region");
  } catch (const ctx::io::SafetensorsError&) {
  }
}
