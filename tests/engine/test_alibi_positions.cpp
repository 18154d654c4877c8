// ALiBi: the reference slopes, a hand-computed bias matrix, the bias entering the softmax after the
// 1/sqrt(d) scaling, causality, shift invariance and a full forward/backward pass.
#include <gtest/gtest.h>

#include "scheme_test_util.h"
#include <torch/cuda.h>

#include <cmath>

#include "model/alibi_positions.h"
#include "model/attention.h"
#include "model/language_model.h"
#include "config/run_config.h"

TEST(AlibiPositions, SlopesForEightHeadsAreHalfToOneOver256) {
  const std::vector<double> want = {1 / 2.,  1 / 4.,  1 / 8.,   1 / 16.,
                                    1 / 32., 1 / 64., 1 / 128., 1 / 256.};
  auto s = ctx::alibi_slopes(8);
  ASSERT_EQ(s.size(), want.size());
  for (size_t h = 0; h < want.size(); ++h) EXPECT_DOUBLE_EQ(s[h], want[h]) << h;
}

TEST(AlibiPositions, SlopesForTwelveHeadsInterleaveTheNextPowerOfTwo) {
  const double r = std::sqrt(0.5);  // 2^-0.5
  const std::vector<double> want = {1 / 2.,   1 / 4.,   1 / 8., 1 / 16., 1 / 32., 1 / 64.,
                                    1 / 128., 1 / 256., r,      r / 2,   r / 4,   r / 8};
  auto s = ctx::alibi_slopes(12);
  ASSERT_EQ(s.size(), want.size());
  for (size_t h = 0; h < want.size(); ++h) EXPECT_DOUBLE_EQ(s[h], want[h]) << h;
  // A single head: the power-of-two rule with n = 1.
  EXPECT_DOUBLE_EQ(ctx::alibi_slopes(1).at(0), 1 / 256.);
}

TEST(AlibiPositions, BiasMatrixForThreeTokensByHand) {
  // Two heads: slopes 2^-4 and 2^-8. Fractional ids 0, 1.5, 4.
  ctx::AlibiPositions a(tiny("alibi", 2));
  a.prepare(torch::tensor({0.f, 1.5f, 4.f}).unsqueeze(0));
  auto q = torch::zeros({1, 2, 3, 16});
  auto b = a.logit_bias(q, q, 0);
  ASSERT_EQ(b.sizes(), torch::IntArrayRef({1, 2, 3, 3}));
  const float h0[3][3] = {{0, 0.09375f, 0.25f}, {-0.09375f, 0, 0.15625f}, {-0.25f, -0.15625f, 0}};
  const float h1[3][3] = {
      {0, 1.5f / 256, 4.f / 256}, {-1.5f / 256, 0, 2.5f / 256}, {-4.f / 256, -2.5f / 256, 0}};
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) {
      EXPECT_FLOAT_EQ(b[0][0][i][j].item<float>(), h0[i][j]) << i << "," << j;
      EXPECT_FLOAT_EQ(b[0][1][i][j].item<float>(), h1[i][j]) << i << "," << j;
    }
}

TEST(AlibiPositions, BiasIsAddedAfterTheScaling) {
  // d = 4, q_2 = (2,0,0,0), k_j = (j,0,0,0): q.k/sqrt(d) = j. Head 0 of ids 0, 1.5, 4 adds
  // (-0.25, -0.15625, 0), so row 2 is softmax(-0.25, 0.84375, 2), not softmax(([0,2,4] + bias)/2).
  ctx::AlibiPositions a(tiny("alibi", 2));
  a.prepare(torch::tensor({0.f, 1.5f, 4.f}).unsqueeze(0));
  auto q = torch::zeros({1, 2, 3, 4}), k = torch::zeros({1, 2, 3, 4});
  q.index_put_({0, torch::indexing::Slice(), 2, 0}, 2.0);
  for (int j = 0; j < 3; ++j)
    k.index_put_({0, torch::indexing::Slice(), j, 0}, static_cast<float>(j));
  auto v = torch::zeros({1, 2, 3, 4});
  for (int j = 0; j < 3; ++j)
    v.index_put_({0, torch::indexing::Slice(), j, j}, 1.0);  // output = probabilities
  auto bias = a.logit_bias(q, k, 0);
  auto [out, probs] = ctx::attend_explicit(q, k, v, bias, true);
  const double l[3] = {-0.25, 0.84375, 2.0};
  const double z = std::exp(l[0]) + std::exp(l[1]) + std::exp(l[2]);
  for (int j = 0; j < 3; ++j)
    EXPECT_NEAR(probs[0][0][2][j].item<float>(), std::exp(l[j]) / z, 1e-6) << j;
  // Row 0 sees only itself despite its positive (masked) biases.
  EXPECT_FLOAT_EQ(probs[0][0][0][0].item<float>(), 1.0f);
  // The fused path (float mask) agrees.
  EXPECT_TRUE(torch::allclose(ctx::attend(q, k, v, bias, true), out, 1e-5, 1e-5));
}

TEST(AlibiPositions, SlopeScaleMultipliesEverySlope) {
  ctx::AlibiPositions a(tiny({{"type", "alibi"}, {"slope_scale", 0.25}}, 8));
  for (int h = 0; h < 8; ++h)
    EXPECT_DOUBLE_EQ(a.slopes()[static_cast<size_t>(h)], 0.25 * std::pow(2.0, -(h + 1)));
  EXPECT_DOUBLE_EQ(a.describe()["slope_scale"].get<double>(), 0.25);
}

TEST(AlibiPositions, ChangingALaterTokenLeavesEarlierLogitsUnchanged) {
  torch::manual_seed(1);
  auto m = ctx::make_language_model(tiny("alibi"), nullptr, 259);
  torch::NoGradGuard ng;
  auto x = torch::randint(0, 256, {1, 24}, torch::kLong);
  auto y = x.clone();
  y[0][17] = (x[0][17].item<int64_t>() + 1) % 256;
  auto a = m->forward(x, ids(24)), b = m->forward(y, ids(24));
  EXPECT_TRUE(torch::allclose(a.narrow(1, 0, 17), b.narrow(1, 0, 17), 1e-5, 1e-5));
  EXPECT_FALSE(torch::allclose(a.narrow(1, 17, 7), b.narrow(1, 17, 7), 1e-5, 1e-5));
}

TEST(AlibiPositions, LogitsAreInvariantToShiftingEveryId) {
  torch::manual_seed(2);
  auto m = ctx::make_language_model(tiny("alibi", 4), nullptr, 259);
  torch::NoGradGuard ng;
  auto x = torch::randint(0, 256, {2, 20}, torch::kLong);
  auto base = m->forward(x, ids(20));
  for (float shift : {1.0f, 1000.0f, 0.25f})
    EXPECT_TRUE(torch::allclose(m->forward(x, ids(20, shift)), base, 1e-5, 1e-5)) << shift;
  // Not vacuous: stretching the ids changes the logits.
  EXPECT_FALSE(torch::allclose(m->forward(x, ids(20) * 3), base, 1e-4, 1e-4));
}

TEST(AlibiPositions, ForwardAndBackwardThroughTheModel) {
  torch::manual_seed(3);
  auto m = ctx::make_language_model(tiny("alibi", 4), nullptr, 259);
  auto x = torch::randint(0, 256, {2, 16}, torch::kLong);
  auto loss = m->loss(x, ids(16), torch::roll(x, -1, 1));
  loss.backward();
  EXPECT_TRUE(std::isfinite(loss.item<float>()));
  for (auto& p : m->named_parameters()) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    EXPECT_GT(p.value().grad().abs().sum().item<float>(), 0.0f) << p.key();
  }
  EXPECT_TRUE(m->position_scheme().parameters().empty());  // fixed: nothing to learn
}

TEST(AlibiPositions, MatchesCpuOnCuda) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  for (const nlohmann::json& pos : {nlohmann::json("alibi")}) {
    expect_cuda_matches_cpu(tiny(pos, 4), pos.dump());
  }
}
