// Dynamic NTK (HF "dynamic") against METHODS.md §8.3: original theta up to L0, then
// b' = b*(factor*l/L0 - (factor-1))^(d/(d-2)).
#include <gtest/gtest.h>

#include <cmath>

#include "methods/rope_scaling.h"
#include "rope_test_util.h"

using rope_test::error_of;
using rope_test::plain_freqs;
using rope_test::resolve;

TEST(RopeDynamic, EqualsDefaultUpToL0) {
  ctx::RopeBase b{128, 10000.0, 4096};
  auto rs = resolve({{"rope_type", "dynamic"}, {"factor", 2.0}}, 128, 4096);
  auto base = plain_freqs(128, 10000.0);
  for (int64_t len : {1, 100, 4095, 4096}) {
    auto f = ctx::rope_frequencies(rs, b, len);
    for (int j = 0; j < 64; ++j) EXPECT_DOUBLE_EQ(f.inv_freq[j], base[j]) << len << " " << j;
    EXPECT_DOUBLE_EQ(f.resolved["alpha"].get<double>(), 1.0);
    EXPECT_DOUBLE_EQ(f.attention_factor, 1.0);
  }
}

TEST(RopeDynamic, GrowsTheBaseAboveL0) {
  ctx::RopeBase b{128, 10000.0, 4096};
  auto rs = resolve({{"rope_type", "dynamic"}, {"factor", 2.0}}, 128, 4096);
  // l = 8192: alpha = 2*2 - 1 = 3.
  auto f = ctx::rope_frequencies(rs, b, 8192);
  const double b2 = 10000.0 * std::pow(3.0, 128.0 / 126.0);
  for (int j = 0; j < 64; ++j)
    EXPECT_NEAR(f.inv_freq[j] / std::pow(b2, -2.0 * j / 128.0), 1.0, 1e-12) << j;
  EXPECT_DOUBLE_EQ(f.resolved["alpha"].get<double>(), 3.0);
  EXPECT_NEAR(f.resolved["effective_theta"].get<double>() / b2, 1.0, 1e-12);
  EXPECT_EQ(f.resolved["original_max_position_embeddings"].get<int64_t>(), 4096);
  // The base keeps growing with the length.
  double prev = f.resolved["effective_theta"].get<double>();
  for (int64_t len : {10000, 20000, 40000}) {
    double t = ctx::rope_frequencies(rs, b, len).resolved["effective_theta"].get<double>();
    EXPECT_GT(t, prev) << len;
    prev = t;
  }
}

TEST(RopeDynamic, OriginalMaxPositionEmbeddingsOverridesMaxPositions) {
  ctx::RopeBase b{128, 10000.0, 4096};
  auto rs =
      resolve({{"type", "dynamic"}, {"factor", 2.0}, {"original_max_position_embeddings", 2048}},
              128, 4096);
  // l = 4096 over L0 = 2048: alpha = 2*2 - 1 = 3.
  auto f = ctx::rope_frequencies(rs, b, 4096);
  EXPECT_DOUBLE_EQ(f.resolved["alpha"].get<double>(), 3.0);
  EXPECT_EQ(f.resolved["rope_type"], "dynamic");
}

TEST(RopeDynamic, BadBlocksNameTheKey) {
  EXPECT_NE(error_of({{"rope_type", "dynamic"}}).find("rope_scaling.factor: required"),
            std::string::npos);
  EXPECT_NE(error_of({{"rope_type", "dynamic"}, {"factor", 0.9}}).find("rope_scaling.factor:"),
            std::string::npos);
  EXPECT_NE(
      error_of(
          {{"rope_type", "dynamic"}, {"factor", 2.0}, {"original_max_position_embeddings", -1}})
          .find("rope_scaling.original_max_position_embeddings:"),
      std::string::npos);
  EXPECT_NE(error_of({{"rope_type", "dynamic"}, {"factor", 2.0}, {"alpha", 2.0}})
                .find("rope_scaling.alpha: unknown key"),
            std::string::npos);
}
