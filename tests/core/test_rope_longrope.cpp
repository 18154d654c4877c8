// LongRoPE (HF "longrope") against METHODS.md §8.6: theta_j/ext_j with short vs long factors
// switching at L0, attention factor sqrt(1 + ln f / ln L0).
#include <gtest/gtest.h>

#include <cmath>

#include "methods/rope_scaling.h"
#include "rope_test_util.h"

using rope_test::error_of;
using rope_test::plain_freqs;
using rope_test::resolve;

namespace {

const std::vector<double> kShort = {1.0, 1.5, 2.0, 3.0};
const std::vector<double> kLong = {2.0, 4.0, 8.0, 16.0};

}  // namespace

TEST(RopeLongrope, PicksShortUpToL0AndLongAbove) {
  ctx::RopeBase b{8, 10000.0, 131072};
  auto rs = resolve({{"rope_type", "longrope"},
                     {"short_factor", kShort},
                     {"long_factor", kLong},
                     {"original_max_position_embeddings", 4096}},
                    8, 131072);
  auto base = plain_freqs(8, 10000.0);
  auto s = ctx::rope_frequencies(rs, b, 4096);
  auto l = ctx::rope_frequencies(rs, b, 4097);
  for (int j = 0; j < 4; ++j) {
    EXPECT_DOUBLE_EQ(s.inv_freq[j], base[j] / kShort[j]) << j;
    EXPECT_DOUBLE_EQ(l.inv_freq[j], base[j] / kLong[j]) << j;
  }
  EXPECT_EQ(s.resolved["factors_used"], "short");
  EXPECT_EQ(l.resolved["factors_used"], "long");
  // Phi-3-128k: factor = 131072/4096 = 32 derived, attention sqrt(1 + ln 32 / ln 4096).
  const double af = std::sqrt(1.0 + std::log(32.0) / std::log(4096.0));
  EXPECT_NEAR(af, 1.1902380714, 1e-10);
  EXPECT_NEAR(s.attention_factor, af, 1e-12);
  EXPECT_NEAR(l.attention_factor, af, 1e-12);
  EXPECT_DOUBLE_EQ(l.resolved["factor"].get<double>(), 32.0);
  EXPECT_EQ(l.resolved["original_max_position_embeddings"].get<int64_t>(), 4096);
}

TEST(RopeLongrope, GivenFactorAndAttentionFactor) {
  ctx::RopeBase b{8, 10000.0, 4096};
  auto rs = resolve(
      {{"type", "longrope"}, {"short_factor", kShort}, {"long_factor", kLong}, {"factor", 32.0}}, 8,
      4096);
  auto f = ctx::rope_frequencies(rs, b, 4096);
  EXPECT_NEAR(f.attention_factor, 1.1902380714, 1e-10);
  // Neither factor nor L0 given: factor = max_positions/max_positions = 1 -> attention 1.
  auto rs1 =
      resolve({{"type", "longrope"}, {"short_factor", kShort}, {"long_factor", kLong}}, 8, 4096);
  EXPECT_DOUBLE_EQ(ctx::rope_frequencies(rs1, b, 4096).attention_factor, 1.0);
  auto rs2 = resolve({{"type", "longrope"},
                      {"short_factor", kShort},
                      {"long_factor", kLong},
                      {"attention_factor", 1.25}},
                     8, 4096);
  EXPECT_DOUBLE_EQ(ctx::rope_frequencies(rs2, b, 9000).attention_factor, 1.25);
}

TEST(RopeLongrope, WrongListLengthNamesKeyAndExpectedLength) {
  const std::vector<double> three = {1.0, 1.0, 1.0};
  auto e =
      error_of({{"rope_type", "longrope"}, {"short_factor", three}, {"long_factor", kLong}}, 8);
  EXPECT_NE(e.find("rope_scaling.short_factor:"), std::string::npos) << e;
  EXPECT_NE(e.find("4 values"), std::string::npos) << e;
  EXPECT_NE(e.find("got 3"), std::string::npos) << e;
  e = error_of({{"rope_type", "longrope"}, {"short_factor", kShort}, {"long_factor", kShort}}, 16);
  EXPECT_NE(e.find("rope_scaling.short_factor:"), std::string::npos) << e;
  EXPECT_NE(e.find("8 values"), std::string::npos) << e;
  EXPECT_NE(error_of({{"rope_type", "longrope"}, {"short_factor", kShort}})
                .find("rope_scaling.long_factor: required"),
            std::string::npos);
  EXPECT_NE(error_of({{"rope_type", "longrope"},
                      {"short_factor", kShort},
                      {"long_factor", {1.0, 0.0, 1.0, 1.0}}})
                .find("rope_scaling.long_factor[1]:"),
            std::string::npos);
  EXPECT_NE(error_of({{"rope_type", "longrope"},
                      {"short_factor", kShort},
                      {"long_factor", {1.0, "x", 1.0, 1.0}}})
                .find("rope_scaling.long_factor[1]:"),
            std::string::npos);
  EXPECT_NE(error_of({{"rope_type", "longrope"},
                      {"short_factor", kShort},
                      {"long_factor", kLong},
                      {"factor", 0.5}})
                .find("rope_scaling.factor:"),
            std::string::npos);
}

TEST(RopeLongrope, WrongLengthAtRunTimeThrows) {
  // A block resolved for another rot_dim is refused rather than read out of bounds.
  ctx::RopeBase b{16, 10000.0, 4096};
  auto rs = resolve({{"rope_type", "longrope"}, {"short_factor", kShort}, {"long_factor", kLong}},
                    8, 4096);
  EXPECT_THROW(ctx::rope_frequencies(rs, b, 100), ctx::ConfigError);
}
