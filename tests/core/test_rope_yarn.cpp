// YaRN (HF "yarn") against METHODS.md §8.4: correction range from
// j(N) = d*ln(L0/(2*pi*N))/(2*ln b), ramp linear in the pair index, attention 0.1*ln(s)+1.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "methods/rope_scaling.h"
#include "rope_test_util.h"

using rope_test::error_of;
using rope_test::plain_freqs;
using rope_test::resolve;

namespace {

// Llama-2 shape: d 128, b 1e4, L0 4096.
void expect_llama2_yarn(const ctx::RopeFreqs& f, double s) {
  auto base = plain_freqs(128, 10000.0);
  const double jfast = 128.0 * std::log(4096.0 / (2.0 * M_PI * 32.0)) / (2.0 * std::log(1e4));
  const double jslow = 128.0 * std::log(4096.0 / (2.0 * M_PI * 1.0)) / (2.0 * std::log(1e4));
  ASSERT_EQ(std::floor(jfast), 20.0);
  ASSERT_EQ(std::ceil(jslow), 46.0);
  EXPECT_EQ(f.resolved["low"].get<double>(), 20.0);
  EXPECT_EQ(f.resolved["high"].get<double>(), 46.0);
  EXPECT_DOUBLE_EQ(f.resolved["factor"].get<double>(), s);
  EXPECT_EQ(f.resolved["original_max_position_embeddings"].get<int64_t>(), 4096);
  ASSERT_EQ(f.inv_freq.size(), 64u);
  for (int j = 0; j < 20; ++j) EXPECT_DOUBLE_EQ(f.inv_freq[j], base[j]) << j;
  for (int j = 46; j < 64; ++j) EXPECT_DOUBLE_EQ(f.inv_freq[j], base[j] / s) << j;
  for (int j = 20; j < 46; ++j) {
    const double gamma = (j - 20.0) / 26.0;
    EXPECT_NEAR(f.inv_freq[j] / ((1 - gamma) * base[j] + gamma * base[j] / s), 1.0, 1e-12) << j;
  }
  const double af = 0.1 * std::log(s) + 1.0;
  EXPECT_NEAR(f.attention_factor, af, 1e-12);
  EXPECT_NEAR(f.resolved["attention_factor"].get<double>(), af, 1e-12);
}

}  // namespace

TEST(RopeYarn, Llama2BoundsAndBandsAtFactor16) {
  ctx::RopeBase b{128, 10000.0, 4096};
  auto rs =
      resolve({{"rope_type", "yarn"}, {"factor", 16.0}, {"original_max_position_embeddings", 4096}},
              128, 65536);
  auto f = ctx::rope_frequencies(rs, b, 65536);
  expect_llama2_yarn(f, 16.0);
  EXPECT_NEAR(f.attention_factor, 1.2772588722, 1e-10);
}

TEST(RopeYarn, Llama2BoundsAndBandsAtFactor32AndLegacyTypeKey) {
  // No original_max_position_embeddings: L0 falls back to model.max_positions.
  ctx::RopeBase b{128, 10000.0, 4096};
  auto rs = resolve({{"type", "yarn"}, {"factor", 32.0}}, 128, 4096);
  EXPECT_EQ(rs["rope_type"], "yarn");
  auto f = ctx::rope_frequencies(rs, b, 1000);  // static: the length does not matter
  expect_llama2_yarn(f, 32.0);
  EXPECT_NEAR(f.attention_factor, 0.1 * std::log(32.0) + 1.0, 1e-12);
}

TEST(RopeYarn, UntruncatedBoundsStayFractional) {
  ctx::RopeBase b{128, 10000.0, 4096};
  auto rs = resolve({{"rope_type", "yarn"}, {"factor", 16.0}, {"truncate", false}}, 128, 4096);
  auto f = ctx::rope_frequencies(rs, b, 4096);
  const double low = 128.0 * std::log(4096.0 / (2.0 * M_PI * 32.0)) / (2.0 * std::log(1e4));
  const double high = 128.0 * std::log(4096.0 / (2.0 * M_PI)) / (2.0 * std::log(1e4));
  EXPECT_NEAR(f.resolved["low"].get<double>(), low, 1e-12);
  EXPECT_NEAR(f.resolved["high"].get<double>(), high, 1e-12);
  auto base = plain_freqs(128, 10000.0);
  const int j = 30;
  const double gamma = (j - low) / (high - low);
  EXPECT_NEAR(f.inv_freq[j] / ((1 - gamma) * base[j] + gamma * base[j] / 16.0), 1.0, 1e-12);
}

TEST(RopeYarn, BoundsClampToZeroAndDimMinusOne) {
  // d 8, b 1e4: L0 16 drives j(32) = 8*ln(16/(64*pi))/(2*ln 1e4) negative, so low clamps to 0;
  // L0 1e9 gives j(1) ~ 8.2 -> ceil 9, past d-1 = 7, so high clamps to 7 (HF's dim-1 bound).
  ctx::RopeBase b{8, 10000.0, 16};
  auto f = ctx::rope_frequencies(resolve({{"rope_type", "yarn"}, {"factor", 4.0}}, 8, 16), b, 16);
  EXPECT_EQ(f.resolved["low"].get<double>(), 0.0);
  ctx::RopeBase big{8, 10000.0, 1000000000};
  auto g = ctx::rope_frequencies(resolve({{"rope_type", "yarn"}, {"factor", 4.0}}, 8, 1000000000),
                                 big, 16);
  EXPECT_EQ(g.resolved["high"].get<double>(), 7.0);
}

TEST(RopeYarn, AttentionFactorFromMscaleOrGiven) {
  ctx::RopeBase b{128, 10000.0, 4096};
  auto af = [&](const nlohmann::json& extra) {
    nlohmann::json rs = {{"rope_type", "yarn"}, {"factor", 16.0}};
    rs.update(extra);
    return ctx::rope_frequencies(resolve(rs, 128, 4096), b, 4096).attention_factor;
  };
  const double l16 = std::log(16.0);
  EXPECT_NEAR(af({{"mscale", 1.0}, {"mscale_all_dim", 0.5}}), (0.1 * l16 + 1) / (0.05 * l16 + 1),
              1e-12);
  EXPECT_NEAR(af({{"mscale", 0.707}, {"mscale_all_dim", 0.707}}), 1.0, 1e-12);
  EXPECT_NEAR(af({{"mscale", 2.0}}), 0.1 * l16 + 1, 1e-12);  // alone it is ignored, as in HF
  EXPECT_DOUBLE_EQ(af({{"attention_factor", 1.5}, {"mscale", 1.0}, {"mscale_all_dim", 0.5}}), 1.5);
  // factor 1: no scaling and mscale 1.
  auto f =
      ctx::rope_frequencies(resolve({{"rope_type", "yarn"}, {"factor", 1.0}}, 128, 4096), b, 4096);
  EXPECT_DOUBLE_EQ(f.attention_factor, 1.0);
  auto base = plain_freqs(128, 10000.0);
  for (int j = 0; j < 64; ++j) EXPECT_DOUBLE_EQ(f.inv_freq[j], base[j]) << j;
}

TEST(RopeYarn, BadBlocksNameTheKey) {
  EXPECT_NE(error_of({{"rope_type", "yarn"}}).find("rope_scaling.factor: required"),
            std::string::npos);
  EXPECT_NE(error_of({{"rope_type", "yarn"}, {"factor", 0.5}}).find("rope_scaling.factor:"),
            std::string::npos);
  EXPECT_NE(error_of({{"rope_type", "yarn"}, {"factor", 4.0}, {"beta_fast", 1}, {"beta_slow", 32}})
                .find("rope_scaling.beta_fast:"),
            std::string::npos);
  EXPECT_NE(error_of({{"rope_type", "yarn"}, {"factor", 4.0}, {"beta_slow", 0}})
                .find("rope_scaling.beta_slow:"),
            std::string::npos);
  EXPECT_NE(error_of({{"rope_type", "yarn"}, {"factor", 4.0}, {"truncate", 1}})
                .find("rope_scaling.truncate:"),
            std::string::npos);
  EXPECT_NE(error_of({{"rope_type", "yarn"}, {"factor", 4.0}, {"attention_factor", -1.0}})
                .find("rope_scaling.attention_factor:"),
            std::string::npos);
}
