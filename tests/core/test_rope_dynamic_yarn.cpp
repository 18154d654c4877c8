// Dynamic YaRN against METHODS.md §8.4 (repo behaviour): YaRN at s = max(factor, seq_len/L0).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "methods/rope_scaling.h"
#include "rope_test_util.h"

using rope_test::error_of;
using rope_test::plain_freqs;
using rope_test::resolve;

namespace {

// YaRN by hand for d 128, b 1e4, L0 4096 (low 20, high 46) at scale s.
void expect_yarn_at(const ctx::RopeFreqs& f, double s) {
  auto base = plain_freqs(128, 10000.0);
  for (int j = 0; j < 64; ++j) {
    const double gamma = std::clamp((j - 20.0) / 26.0, 0.0, 1.0);
    EXPECT_NEAR(f.inv_freq[j] / ((1 - gamma) * base[j] + gamma * base[j] / s), 1.0, 1e-12) << j;
  }
  EXPECT_DOUBLE_EQ(f.resolved["factor"].get<double>(), s);
  EXPECT_NEAR(f.attention_factor, s > 1 ? 0.1 * std::log(s) + 1 : 1.0, 1e-12);
}

}  // namespace

TEST(RopeDynamicYarn, BaseUpToL0ThenScaleFollowsLength) {
  ctx::RopeBase b{128, 10000.0, 4096};
  auto rs = resolve({{"rope_type", "dynamic_yarn"}}, 128, 4096);
  auto base = plain_freqs(128, 10000.0);
  auto f = ctx::rope_frequencies(rs, b, 4096);
  for (int j = 0; j < 64; ++j) EXPECT_DOUBLE_EQ(f.inv_freq[j], base[j]) << j;
  EXPECT_DOUBLE_EQ(f.attention_factor, 1.0);
  expect_yarn_at(ctx::rope_frequencies(rs, b, 16384), 4.0);
  expect_yarn_at(ctx::rope_frequencies(rs, b, 6144), 1.5);
  auto g = ctx::rope_frequencies(rs, b, 16384);
  EXPECT_EQ(g.resolved["low"].get<double>(), 20.0);
  EXPECT_EQ(g.resolved["high"].get<double>(), 46.0);
}

TEST(RopeDynamicYarn, FactorIsTheMinimumScale) {
  // A checkpoint fine-tuned at 8x: s = 8 up to 8*L0, then l/L0.
  ctx::RopeBase b{128, 10000.0, 65536};
  auto rs = resolve(
      {{"rope_type", "dynamic_yarn"}, {"factor", 8.0}, {"original_max_position_embeddings", 4096}},
      128, 65536);
  expect_yarn_at(ctx::rope_frequencies(rs, b, 100), 8.0);
  expect_yarn_at(ctx::rope_frequencies(rs, b, 32768), 8.0);
  auto f = ctx::rope_frequencies(rs, b, 65536);
  expect_yarn_at(f, 16.0);
  EXPECT_DOUBLE_EQ(f.resolved["min_factor"].get<double>(), 8.0);
}

TEST(RopeDynamicYarn, BadBlocksNameTheKey) {
  EXPECT_NE(error_of({{"rope_type", "dynamic_yarn"}, {"factor", 0.5}}).find("rope_scaling.factor:"),
            std::string::npos);
  EXPECT_NE(
      error_of({{"rope_type", "dynamic_yarn"}, {"beta_fast", 0.5}}).find("rope_scaling.beta_fast:"),
      std::string::npos);
}
