// E2-LLM inference scaling: g = max(1, ceil(L/L0)) chosen from the length, worked by hand.
#include <gtest/gtest.h>

#include "methods/rope_scaling.h"
#include "config/run_config.h"

TEST(RopeE2llm, FactorFollowsTheLength) {
  auto cfg = ctx::parse_run_config({{"model", {{"d_model", 32}, {"heads", 4}}},
                                    {"rope_scaling", {{"rope_type", "e2llm"}, {"original_max_position_embeddings", 128}}}});
  ctx::RopeBase b{8, 10000.0, 1024};
  // L <= L0: plain RoPE (what training with the e2llm sampler sees, its ids being below L0).
  EXPECT_DOUBLE_EQ(ctx::rope_frequencies(cfg.rope_scaling, b, 128).inv_freq[1], 0.1);
  // L = 300: g = ceil(300/128) = 3; L = 1024: g = 8.
  EXPECT_NEAR(ctx::rope_frequencies(cfg.rope_scaling, b, 300).inv_freq[1], 0.1 / 3, 1e-15);
  auto f = ctx::rope_frequencies(cfg.rope_scaling, b, 1024);
  EXPECT_NEAR(f.inv_freq[2], 0.01 / 8, 1e-16);
  EXPECT_DOUBLE_EQ(f.resolved["g"].get<double>(), 8.0);
  cfg.rope_scaling["g_max"] = 4;
  EXPECT_DOUBLE_EQ(ctx::rope_frequencies(cfg.rope_scaling, b, 1024).resolved["g"].get<double>(), 4.0);
  cfg.rope_scaling["fixed_g"] = 2.5;
  EXPECT_NEAR(ctx::rope_frequencies(cfg.rope_scaling, b, 64).inv_freq[1], 0.04, 1e-15);
}
