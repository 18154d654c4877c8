// NumPy .npy files (format 1.0, little-endian float32, C order): what `ctxlab-cli logits` writes so
// that numpy.load reads it, and what tests read back.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "config/input_error.h"

namespace ctx::io {

struct NpyError : InputError {
  using InputError::InputError;
};

// Writes `data` (the product of `shape` values) as '<f4' with that shape, atomically.
void write_npy_f32(const std::string& path, const std::vector<int64_t>& shape, const float* data);

struct NpyArray {
  std::vector<int64_t> shape;
  std::vector<float> data;
};
// Reads a '<f4' C-order .npy (format 1.x or 2.x). Throws NpyError naming the file.
NpyArray read_npy_f32(const std::string& path);

}  // namespace ctx::io
