// 16-bit float conversions in plain C++ (bfloat16 and IEEE half), bit-exact with PyTorch's CPU
// scalar path: float -> 16 bits rounds to nearest even, NaN stays a quiet NaN. Little-endian data.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "io/safetensors_format.h"

namespace ctx::io {

uint16_t f32_to_bf16(float f);  // round to nearest even; NaN -> 0x7FC0 (as c10::BFloat16)
float bf16_to_f32(uint16_t h);  // exact
uint16_t f32_to_f16(float f);   // round to nearest even; overflow -> inf; NaN -> quiet NaN
float f16_to_f32(uint16_t h);   // exact (subnormals included)

// Element-wise over arrays; `src` and `dst` may be unaligned (they are read and written byte-wise).
void f32_to_bf16(const void* src, void* dst, size_t n);
void bf16_to_f32(const void* src, void* dst, size_t n);
void f32_to_f16(const void* src, void* dst, size_t n);
void f16_to_f32(const void* src, void* dst, size_t n);

// The `nbytes` of `dtype` elements at `src` (F64, F32, F16 or BF16; any alignment) as floats.
// Throws SafetensorsError for other dtypes or a byte count that is not a whole number of elements.
std::vector<float> decode_to_f32(Dtype dtype, const void* src, uint64_t nbytes);

// `n` floats encoded as F32, F16 or BF16 bytes (F64 widens). Throws for integer dtypes.
std::vector<uint8_t> encode_from_f32(Dtype dtype, const float* src, size_t n);

}  // namespace ctx::io
