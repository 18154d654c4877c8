// Llama-3.1 scaling (HF "llama3") against METHODS.md §8.5: three wavelength bands.
#include <gtest/gtest.h>

#include <cmath>

#include "methods/rope_scaling.h"
#include "rope_test_util.h"

using rope_test::error_of;
using rope_test::plain_freqs;
using rope_test::resolve;

TEST(RopeLlama3, Llama31KeepsBlendsAndDividesBands) {
  ctx::RopeBase b{128, 500000.0, 131072};
  auto rs = resolve({{"rope_type", "llama3"},
                     {"factor", 8.0},
                     {"low_freq_factor", 1.0},
                     {"high_freq_factor", 4.0},
                     {"original_max_position_embeddings", 8192}},
                    128, 131072);
  auto f = ctx::rope_frequencies(rs, b, 131072);
  auto base = plain_freqs(128, 500000.0);
  int kept = 0, blended = 0, divided = 0;
  for (int j = 0; j < 64; ++j) {
    const double wavelen = 2 * M_PI / base[j];
    if (wavelen < 8192.0 / 4.0) {
      ++kept;
      EXPECT_DOUBLE_EQ(f.inv_freq[j], base[j]) << j;
    } else if (wavelen > 8192.0 / 1.0) {
      ++divided;
      EXPECT_DOUBLE_EQ(f.inv_freq[j], base[j] / 8.0) << j;
    } else {
      ++blended;
      const double w = (8192.0 / wavelen - 1.0) / 3.0;
      EXPECT_NEAR(f.inv_freq[j] / ((1 - w) * base[j] / 8.0 + w * base[j]), 1.0, 1e-12) << j;
      EXPECT_LT(f.inv_freq[j], base[j]);
      EXPECT_GT(f.inv_freq[j], base[j] / 8.0);
    }
  }
  EXPECT_EQ(kept, 29);
  EXPECT_EQ(blended, 6);
  EXPECT_EQ(divided, 29);
  EXPECT_EQ(f.resolved["pairs_kept"].get<int>(), 29);
  EXPECT_EQ(f.resolved["pairs_blended"].get<int>(), 6);
  EXPECT_EQ(f.resolved["pairs_divided"].get<int>(), 29);
  EXPECT_DOUBLE_EQ(f.attention_factor, 1.0);
}

TEST(RopeLlama3, DefaultsAreLlama31WithL0FromMaxPositions) {
  ctx::RopeBase b{128, 500000.0, 8192};
  auto rs = resolve({{"type", "llama3"}}, 128, 8192);
  EXPECT_DOUBLE_EQ(rs["factor"].get<double>(), 8.0);
  auto f = ctx::rope_frequencies(rs, b, 8192);
  EXPECT_EQ(f.resolved["original_max_position_embeddings"].get<int64_t>(), 8192);
  EXPECT_EQ(f.resolved["pairs_kept"].get<int>(), 29);
  EXPECT_EQ(f.resolved["pairs_divided"].get<int>(), 29);
}

TEST(RopeLlama3, BadBlocksNameTheKey) {
  EXPECT_NE(error_of({{"rope_type", "llama3"}, {"low_freq_factor", 4.0}, {"high_freq_factor", 4.0}})
                .find("rope_scaling.high_freq_factor:"),
            std::string::npos);
  EXPECT_NE(error_of({{"rope_type", "llama3"}, {"low_freq_factor", 0.0}})
                .find("rope_scaling.low_freq_factor:"),
            std::string::npos);
  EXPECT_NE(error_of({{"rope_type", "llama3"}, {"factor", 0.25}}).find("rope_scaling.factor:"),
            std::string::npos);
}
