// bf16 and f16 conversions, exhaustively: every 16-bit value survives a round trip through float,
// and every float half-way between two neighbours rounds to the even one (as PyTorch does).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "io/half_float.h"

using namespace ctx::io;

namespace {

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

bool is_nan16(uint16_t h, bool bf) {
  return bf ? (h & 0x7F80) == 0x7F80 && (h & 0x7F) : (h & 0x7C00) == 0x7C00 && (h & 0x3FF);
}

// For each finite non-negative 16-bit value h with a finite successor: the float midpoint rounds
// to whichever of h, h+1 is even, and just below / above it to h / h+1.
template <class ToF, class FromF>
void check_midpoints(ToF to_f32, FromF from_f32, uint16_t last_finite) {
  for (uint32_t h = 0; h < last_finite; ++h) {
    const float lo = to_f32(static_cast<uint16_t>(h)), hi = to_f32(static_cast<uint16_t>(h + 1));
    const float mid = lo + (hi - lo) / 2;  // exact: both are 16-bit values widened to float
    const uint16_t even = (h % 2 == 0) ? h : h + 1;
    ASSERT_EQ(from_f32(mid), even) << "h=" << h;
    ASSERT_EQ(from_f32(-mid), even | 0x8000) << "h=" << h;
    ASSERT_EQ(from_f32(std::nextafter(mid, 0.0f)), h) << "h=" << h;
    ASSERT_EQ(from_f32(std::nextafter(mid, std::numeric_limits<float>::infinity())), h + 1)
        << "h=" << h;
  }
}

}  // namespace

TEST(HalfFloat, Bf16RoundTripsEveryValue) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const auto v = static_cast<uint16_t>(h);
    if (is_nan16(v, true)) {
      EXPECT_TRUE(std::isnan(bf16_to_f32(v)));
      EXPECT_EQ(f32_to_bf16(bf16_to_f32(v)), 0x7FC0);
    } else {
      ASSERT_EQ(f32_to_bf16(bf16_to_f32(v)), v) << h;
      ASSERT_EQ(bits(bf16_to_f32(v)), h << 16);
    }
  }
}

TEST(HalfFloat, Bf16RoundsToNearestEven) {
  check_midpoints(static_cast<float (*)(uint16_t)>(bf16_to_f32),
                  static_cast<uint16_t (*)(float)>(f32_to_bf16), 0x7F7F);
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3F80);
  EXPECT_EQ(f32_to_bf16(from_bits(0x3F808000)), 0x3F80);              // tie, even stays
  EXPECT_EQ(f32_to_bf16(from_bits(0x3F818000)), 0x3F82);              // tie, odd rounds up
  EXPECT_EQ(f32_to_bf16(std::numeric_limits<float>::max()), 0x7F80);  // rounds to inf
  EXPECT_EQ(f32_to_bf16(-std::numeric_limits<float>::infinity()), 0xFF80);
  EXPECT_EQ(f32_to_bf16(std::nanf("")), 0x7FC0);
  EXPECT_EQ(f32_to_bf16(-0.0f), 0x8000);
}

TEST(HalfFloat, F16RoundTripsEveryValue) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const auto v = static_cast<uint16_t>(h);
    if (is_nan16(v, false)) {
      EXPECT_TRUE(std::isnan(f16_to_f32(v)));
      EXPECT_EQ(f32_to_f16(f16_to_f32(v)) & 0x7E00, 0x7E00);
    } else {
      ASSERT_EQ(f32_to_f16(f16_to_f32(v)), v) << h;
    }
  }
}

TEST(HalfFloat, F16RoundsToNearestEvenIncludingSubnormals) {
  check_midpoints(static_cast<float (*)(uint16_t)>(f16_to_f32),
                  static_cast<uint16_t (*)(float)>(f32_to_f16), 0x7BFF);
  EXPECT_EQ(f16_to_f32(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_EQ(f16_to_f32(0x3C00), 1.0f);
  EXPECT_EQ(f16_to_f32(0x7BFF), 65504.0f);
  EXPECT_EQ(f32_to_f16(65519.0f), 0x7BFF);
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7C00);  // tie above the largest finite: inf
  EXPECT_EQ(f32_to_f16(1e10f), 0x7C00);
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -25)), 0x0000);  // tie with 0: even
  EXPECT_EQ(f32_to_f16(std::ldexp(3.0f, -26)), 0x0001);  // above the tie
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -30)), 0x0000);
  EXPECT_EQ(f32_to_f16(-std::ldexp(1.0f, -24)), 0x8001);
  EXPECT_EQ(f32_to_f16(std::nanf("")) & 0x7E00, 0x7E00);
}

TEST(HalfFloat, ArraysDecodeAndEncode) {
  const std::vector<float> values = {0.0f, 1.0f, -2.5f, 3.14159f, 1e-6f, 70000.0f};
  for (Dtype d : {Dtype::F32, Dtype::F16, Dtype::BF16, Dtype::F64}) {
    const auto bytes = encode_from_f32(d, values.data(), values.size());
    ASSERT_EQ(bytes.size(), values.size() * dtype_size(d));
    // Decoding from an odd address works (data may be unaligned in a file).
    std::vector<uint8_t> shifted(bytes.size() + 1);
    std::memcpy(shifted.data() + 1, bytes.data(), bytes.size());
    const auto back = decode_to_f32(d, shifted.data() + 1, bytes.size());
    ASSERT_EQ(back.size(), values.size());
    for (size_t i = 0; i < values.size(); ++i) {
      float expected = values[i];
      if (d == Dtype::F16) expected = f16_to_f32(f32_to_f16(values[i]));
      if (d == Dtype::BF16) expected = bf16_to_f32(f32_to_bf16(values[i]));
      EXPECT_EQ(back[i], expected) << dtype_name(d) << " " << i;
    }
  }
  EXPECT_THROW(decode_to_f32(Dtype::I32, values.data(), 4), SafetensorsError);
  EXPECT_THROW(decode_to_f32(Dtype::F32, values.data(), 6), SafetensorsError);
  EXPECT_THROW(encode_from_f32(Dtype::U8, values.data(), 1), SafetensorsError);
}
