// Static NTK-aware scaling against METHODS.md §8.2: b' = b*alpha^(d/(d-2)).
#include <gtest/gtest.h>

#include <cmath>

#include "methods/rope_scaling.h"
#include "rope_test_util.h"

using rope_test::error_of;
using rope_test::plain_freqs;
using rope_test::resolve;

TEST(RopeNtk, LowestFrequencyDividedByAlphaHighestUntouched) {
  ctx::RopeBase b{128, 10000.0, 4096};
  auto rs = resolve({{"rope_type", "ntk"}, {"factor", 4.0}}, 128, 4096);
  auto f = ctx::rope_frequencies(rs, b, 4096);
  auto base = plain_freqs(128, 10000.0);
  ASSERT_EQ(f.inv_freq.size(), 64u);
  EXPECT_DOUBLE_EQ(f.inv_freq[0], 1.0);
  EXPECT_NEAR(f.inv_freq[63] / (base[63] / 4.0), 1.0, 1e-12);
  // Every pair from b' = 1e4 * 4^(128/126).
  const double b2 = 10000.0 * std::pow(4.0, 128.0 / 126.0);
  for (int j = 0; j < 64; ++j)
    EXPECT_NEAR(f.inv_freq[j] / std::pow(b2, -2.0 * j / 128.0), 1.0, 1e-12) << j;
  EXPECT_NEAR(f.resolved["effective_theta"].get<double>() / b2, 1.0, 1e-12);
  EXPECT_DOUBLE_EQ(f.resolved["alpha"].get<double>(), 4.0);
  EXPECT_DOUBLE_EQ(f.attention_factor, 1.0);
  // Static: the same at any length.
  auto g = ctx::rope_frequencies(rs, b, 64);
  EXPECT_EQ(f.inv_freq, g.inv_freq);
}

TEST(RopeNtk, BadBlocksNameTheKey) {
  EXPECT_NE(error_of({{"rope_type", "ntk"}}).find("rope_scaling.factor: required"),
            std::string::npos);
  EXPECT_NE(error_of({{"rope_type", "ntk"}, {"factor", 0.5}}).find("rope_scaling.factor:"),
            std::string::npos);
  // Two rotated dims: the base cannot change anything.
  EXPECT_NE(error_of({{"type", "ntk"}, {"factor", 2.0}}, 2).find("rope_scaling.rope_type:"),
            std::string::npos);
}
