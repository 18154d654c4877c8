// bfloat16 / IEEE half <-> float by bit manipulation (no hardware half type assumed); rounding is
// round-to-nearest-even, as PyTorch's scalar c10::BFloat16 and c10::Half constructors do.
#include "io/half_float.h"

#include <cstring>
#include <string>

namespace ctx::io {

namespace {

uint32_t bits_of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

float float_of(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

template <class In, class Out, class F>
void map_array(const void* src, void* dst, size_t n, F convert) {
  const auto* s = static_cast<const unsigned char*>(src);
  auto* d = static_cast<unsigned char*>(dst);
  for (size_t i = 0; i < n; ++i) {
    In in;
    std::memcpy(&in, s + i * sizeof(In), sizeof(In));
    const Out out = convert(in);
    std::memcpy(d + i * sizeof(Out), &out, sizeof(Out));
  }
}

}  // namespace

uint16_t f32_to_bf16(float f) {
  const uint32_t u = bits_of(f);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) return 0x7FC0;  // NaN
  const uint32_t rounding_bias = 0x7FFFu + ((u >> 16) & 1u);
  return static_cast<uint16_t>((u + rounding_bias) >> 16);
}

float bf16_to_f32(uint16_t h) {
  return float_of(static_cast<uint32_t>(h) << 16);
}

uint16_t f32_to_f16(float f) {
  const uint32_t u = bits_of(f);
  const auto sign = static_cast<uint16_t>((u >> 16) & 0x8000u);
  uint32_t a = u & 0x7FFFFFFFu;
  if (a > 0x7F800000u) return sign | 0x7E00;   // NaN
  if (a >= 0x477FF000u) return sign | 0x7C00;  // >= 65520 (or inf) rounds to inf
  if (a < 0x38800000u) {
    // Below 2^-14: a half subnormal (or zero). Adding 0.5 puts the value where a float's ulp is
    // 2^-24, the half subnormal step, so the FPU's own round-to-nearest-even does the rounding.
    const uint32_t r = bits_of(float_of(a) + 0.5f) - 0x3F000000u;
    return static_cast<uint16_t>(sign | r);
  }
  // Normal: rebias the exponent (127 -> 15) and round the 13 dropped mantissa bits to even.
  a += 0xC8000FFFu + ((a >> 13) & 1u);
  return static_cast<uint16_t>(sign | (a >> 13));
}

float f16_to_f32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1Fu;
  const uint32_t mant = h & 0x3FFu;
  if (exp == 0x1F) return float_of(sign | 0x7F800000u | (mant << 13));
  if (exp == 0) {
    const float v = static_cast<float>(mant) * 5.9604644775390625e-8f;  // mant x 2^-24, exact
    return sign ? -v : v;
  }
  return float_of(sign | ((exp + 112u) << 23) | (mant << 13));
}

void f32_to_bf16(const void* src, void* dst, size_t n) {
  map_array<float, uint16_t>(src, dst, n, [](float f) { return f32_to_bf16(f); });
}
void bf16_to_f32(const void* src, void* dst, size_t n) {
  map_array<uint16_t, float>(src, dst, n, [](uint16_t h) { return bf16_to_f32(h); });
}
void f32_to_f16(const void* src, void* dst, size_t n) {
  map_array<float, uint16_t>(src, dst, n, [](float f) { return f32_to_f16(f); });
}
void f16_to_f32(const void* src, void* dst, size_t n) {
  map_array<uint16_t, float>(src, dst, n, [](uint16_t h) { return f16_to_f32(h); });
}

std::vector<float> decode_to_f32(Dtype dtype, const void* src, uint64_t nbytes) {
  const size_t size = dtype_size(dtype);
  if (nbytes % size != 0) {
    throw SafetensorsError("decode_to_f32: " + std::to_string(nbytes) + " bytes are not a whole " +
                           "number of " + dtype_name(dtype) + " elements");
  }
  std::vector<float> out(nbytes / size);
  switch (dtype) {
    case Dtype::F32:
      if (nbytes) std::memcpy(out.data(), src, nbytes);
      break;
    case Dtype::BF16:
      bf16_to_f32(src, out.data(), out.size());
      break;
    case Dtype::F16:
      f16_to_f32(src, out.data(), out.size());
      break;
    case Dtype::F64:
      map_array<double, float>(src, out.data(), out.size(),
                               [](double d) { return static_cast<float>(d); });
      break;
    default:
      throw SafetensorsError(std::string("decode_to_f32: ") + dtype_name(dtype) +
                             " is not a floating-point dtype");
  }
  return out;
}

std::vector<uint8_t> encode_from_f32(Dtype dtype, const float* src, size_t n) {
  std::vector<uint8_t> out(n * dtype_size(dtype));
  switch (dtype) {
    case Dtype::F32:
      if (n) std::memcpy(out.data(), src, n * 4);
      break;
    case Dtype::BF16:
      f32_to_bf16(src, out.data(), n);
      break;
    case Dtype::F16:
      f32_to_f16(src, out.data(), n);
      break;
    case Dtype::F64:
      map_array<float, double>(src, out.data(), n, [](float f) { return static_cast<double>(f); });
      break;
    default:
      throw SafetensorsError(std::string("encode_from_f32: ") + dtype_name(dtype) +
                             " is not a floating-point dtype");
  }
  return out;
}

}  // namespace ctx::io
