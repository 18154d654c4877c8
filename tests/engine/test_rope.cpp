// RoPE: relative-position property under any shift, hand-computed rotations for both pairings,
// partial rotary, and the scheme reading its frequencies from the registry.
#include <gtest/gtest.h>

#include <cmath>

#include "model/rope.h"

namespace {

// cos/sin [1,1,T,d/2] for ids `pos` and inverse frequencies `inv`.
std::pair<torch::Tensor, torch::Tensor> tables(const std::vector<float>& pos, const std::vector<float>& inv) {
  auto p = torch::tensor(pos).unsqueeze(-1);
  auto f = torch::tensor(inv);
  auto a = (p * f).unsqueeze(0).unsqueeze(0);
  return {a.cos(), a.sin()};
}

float rotated_dot(const torch::Tensor& q, const torch::Tensor& k, float m, float n, ctx::RopePairing p) {
  std::vector<float> inv = {1.0f, 0.3f, 0.05f, 0.001f};
  auto [cq, sq] = tables({m}, inv);
  auto [ck, sk] = tables({n}, inv);
  auto rq = ctx::apply_rope(q, cq, sq, p), rk = ctx::apply_rope(k, ck, sk, p);
  return (rq * rk).sum().item<float>();
}

}  // namespace

TEST(Rope, DotProductDependsOnlyOnTheIdDifference) {
  torch::manual_seed(0);
  for (auto pairing : {ctx::RopePairing::Half, ctx::RopePairing::Interleaved}) {
    auto q = torch::randn({1, 1, 1, 8}), k = torch::randn({1, 1, 1, 8});
    const float base = rotated_dot(q, k, 7.0f, 3.0f, pairing);
    for (float shift : {1.0f, 13.0f, 250.5f, 1000.25f})
      EXPECT_NEAR(rotated_dot(q, k, 7.0f + shift, 3.0f + shift, pairing), base, 2e-3) << shift;
    // A different distance gives a different score (the test would pass for an identity rotation otherwise).
    EXPECT_GT(std::abs(rotated_dot(q, k, 9.0f, 3.0f, pairing) - base), 1e-3);
  }
}

TEST(Rope, HandComputedHalfSplitAndInterleaved) {
  // x = [1, 2, 3, 4] at position 1 with inv_freq [1, 0.1].
  auto x = torch::tensor({1.0f, 2.0f, 3.0f, 4.0f}).view({1, 1, 1, 4});
  auto [c, s] = tables({1.0f}, {1.0f, 0.1f});
  const double c1 = std::cos(1.0), s1 = std::sin(1.0), c2 = std::cos(0.1), s2 = std::sin(0.1);
  // Half split: pairs (x0, x2) at frequency 1 and (x1, x3) at 0.1.
  auto h = ctx::apply_rope(x, c, s, ctx::RopePairing::Half).flatten();
  EXPECT_NEAR(h[0].item<float>(), 1 * c1 - 3 * s1, 1e-6);
  EXPECT_NEAR(h[1].item<float>(), 2 * c2 - 4 * s2, 1e-6);
  EXPECT_NEAR(h[2].item<float>(), 3 * c1 + 1 * s1, 1e-6);
  EXPECT_NEAR(h[3].item<float>(), 4 * c2 + 2 * s2, 1e-6);
  // Interleaved: pairs (x0, x1) at frequency 1 and (x2, x3) at 0.1.
  auto i = ctx::apply_rope(x, c, s, ctx::RopePairing::Interleaved).flatten();
  EXPECT_NEAR(i[0].item<float>(), 1 * c1 - 2 * s1, 1e-6);
  EXPECT_NEAR(i[1].item<float>(), 2 * c1 + 1 * s1, 1e-6);
  EXPECT_NEAR(i[2].item<float>(), 3 * c2 - 4 * s2, 1e-6);
  EXPECT_NEAR(i[3].item<float>(), 4 * c2 + 3 * s2, 1e-6);
}

TEST(Rope, PartialRotaryLeavesTheTailUntouched) {
  auto x = torch::arange(1, 9, torch::kFloat).view({1, 1, 1, 8});
  auto [c, s] = tables({5.0f}, {1.0f, 0.5f});  // rotates 4 of 8 dims
  auto y = ctx::apply_rope(x, c, s, ctx::RopePairing::Half);
  EXPECT_TRUE(torch::equal(y.narrow(-1, 4, 4), x.narrow(-1, 4, 4)));
  EXPECT_FALSE(torch::allclose(y.narrow(-1, 0, 4), x.narrow(-1, 0, 4)));
  // Rotation preserves the norm of every pair.
  EXPECT_NEAR(y.narrow(-1, 0, 4).norm().item<float>(), x.narrow(-1, 0, 4).norm().item<float>(), 1e-5);
}

TEST(Rope, SchemeUsesPositionIdsNotIndices) {
  ctx::ModelConfig mc;
  mc.d_model = 16;
  mc.heads = 2;
  mc.position_params = {{"theta", 10000.0}, {"pairing", "half"}, {"rotary_fraction", 1.0}};
  ctx::RopeScheme rope(mc, nullptr);
  auto q = torch::randn({1, 2, 3, 8}), k = q.clone();
  // Same vectors at ids {0, 5, 9} vs {100, 105, 109}: identical q.k matrices.
  auto run = [&](std::vector<float> ids) {
    rope.prepare(torch::tensor(ids).unsqueeze(0));
    auto a = q.clone(), b = k.clone();
    rope.rotate(a, b, 0);
    return torch::matmul(a, b.transpose(-1, -2));
  };
  EXPECT_TRUE(torch::allclose(run({0, 5, 9}), run({100, 105, 109}), 1e-4, 1e-4));
  EXPECT_FALSE(torch::allclose(run({0, 5, 9}), run({0, 1, 2}), 1e-3, 1e-3));
}
