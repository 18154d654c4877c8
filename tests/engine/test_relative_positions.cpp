// Shaw / Huang relative embeddings: the gather path equals a naive O(T^2 d) loop, clipping merges
// far distances, causality, shift invariance and a full forward/backward pass.
#include <gtest/gtest.h>

#include "scheme_test_util.h"
#include <torch/cuda.h>

#include <cmath>

#include "model/relative_positions.h"
#include "model/language_model.h"
#include "train/checkpoint.h"
#include "config/run_config.h"

namespace {

nlohmann::json rel(const std::string& variant, int64_t clip) {
  return {{"type", "relative"}, {"variant", variant}, {"clip", clip}};
}

}  // namespace

TEST(RelativePositions, GatherPathEqualsNaiveLoop) {
  for (std::string variant : {"shaw", "key_query"}) {
    torch::manual_seed(4);
    auto cfg = tiny(rel(variant, 4));
    ctx::RelativePositions s(cfg);
    {
      torch::NoGradGuard ng;
      for (int64_t l = 0; l < 2; ++l) s.table(l).normal_();
    }
    // Two samples with different, gapped and fractional ids (3 - 0.5 = 2.5 rounds to 2, half to
    // even).
    auto pos =
        torch::tensor({0.f, 0.5f, 1.6f, 3.f, 7.25f, 20.f, 21.f, 0.f, 1.f, 2.f, 3.f, 4.f, 5.f, 6.f})
            .view({2, 7});
    s.prepare(pos);
    const int64_t H = 2, T = 7, D = 16;
    auto q = torch::randn({2, H, T, D}), k = torch::randn({2, H, T, D});
    auto got = s.logit_bias(q, k, 1);
    ASSERT_EQ(got.sizes(), torch::IntArrayRef({2, H, T, T}));
    auto A = s.table(1).detach();
    auto pa = pos.accessor<float, 2>();
    auto qa = q.accessor<float, 4>(), ka = k.accessor<float, 4>();
    auto aa = A.accessor<float, 2>();
    auto ga = got.accessor<float, 4>();
    for (int b = 0; b < 2; ++b)
      for (int h = 0; h < H; ++h)
        for (int i = 0; i < T; ++i)
          for (int j = 0; j < T; ++j) {
            double dist =
                std::nearbyint(static_cast<double>(pa[b][i]) - static_cast<double>(pa[b][j]));
            const int r = static_cast<int>(std::min(4.0, std::max(0.0, dist)));
            double e = 0;
            for (int c = 0; c < D; ++c) {
              e += qa[b][h][i][c] * aa[r][c];
              if (variant == "key_query") e += ka[b][h][j][c] * aa[r][c];
            }
            EXPECT_NEAR(ga[b][h][i][j], e / std::sqrt(16.0), 1e-5)
                << variant << " " << b << h << i << j;
          }
    // Spot check of the half-to-even rounding: ids 3 and 0.5 use row 2, not 3.
    EXPECT_EQ(s.row_index()[0][0][3][1].item<int64_t>(), 2);
  }
}

TEST(RelativePositions, DistancesAtOrBeyondTheClipShareOneRow) {
  torch::manual_seed(5);
  ctx::RelativePositions s(tiny(rel("shaw", 4)));
  s.prepare(ids(20));
  auto q = torch::randn({1, 2, 20, 16});
  auto b = s.logit_bias(q, q, 0);
  for (int i = 0; i < 20; ++i)
    for (int j = 0; j <= i; ++j) {
      EXPECT_EQ(s.row_index()[0][0][i][j].item<int64_t>(), std::min(i - j, 4));
      // Shaw's term q_i . a_ij is then one number per query for every key 4 or more back.
      if (i - j >= 4) {
        EXPECT_FLOAT_EQ(b[0][1][i][j].item<float>(), b[0][1][i][i - 4].item<float>())
            << i << "," << j;
      }
    }
  // Distance 3 still has a row of its own.
  EXPECT_NE(b[0][1][10][7].item<float>(), b[0][1][10][6].item<float>());
  // A clip at least the input length (HF's unbounded table) keeps every distance apart.
  ctx::RelativePositions wide(tiny(rel("key_query", 64)));
  wide.prepare(ids(20));
  for (int i = 0; i < 20; ++i)
    for (int j = 0; j <= i; ++j) EXPECT_EQ(wide.row_index()[0][0][i][j].item<int64_t>(), i - j);
  EXPECT_EQ(wide.table(0).size(0), 65);
}

TEST(RelativePositions, ChangingALaterTokenLeavesEarlierLogitsUnchanged) {
  for (std::string variant : {"shaw", "key_query"}) {
    torch::manual_seed(1);
    auto m = ctx::make_language_model(tiny(rel(variant, 8)), nullptr, 259);
    torch::NoGradGuard ng;
    auto x = torch::randint(0, 256, {1, 24}, torch::kLong);
    auto y = x.clone();
    y[0][17] = (x[0][17].item<int64_t>() + 1) % 256;
    auto a = m->forward(x, ids(24)), b = m->forward(y, ids(24));
    EXPECT_TRUE(torch::allclose(a.narrow(1, 0, 17), b.narrow(1, 0, 17), 1e-5, 1e-5)) << variant;
    EXPECT_FALSE(torch::allclose(a.narrow(1, 17, 7), b.narrow(1, 17, 7), 1e-5, 1e-5)) << variant;
  }
}

TEST(RelativePositions, LogitsAreInvariantToShiftingEveryId) {
  for (std::string variant : {"shaw", "key_query"}) {
    torch::manual_seed(2);
    auto m = ctx::make_language_model(tiny(rel(variant, 8)), nullptr, 259);
    torch::NoGradGuard ng;
    auto x = torch::randint(0, 256, {2, 20}, torch::kLong);
    auto base = m->forward(x, ids(20));
    for (float shift : {1.0f, 5000.0f, 0.25f})
      EXPECT_TRUE(torch::allclose(m->forward(x, ids(20, shift)), base, 1e-5, 1e-5))
          << variant << " " << shift;
    EXPECT_FALSE(torch::allclose(m->forward(x, ids(20) * 2), base, 1e-4, 1e-4)) << variant;
  }
}

TEST(RelativePositions, ForwardAndBackwardReachEveryLayerTable) {
  torch::manual_seed(3);
  auto m = ctx::make_language_model(tiny(rel("key_query", 8)), nullptr, 259);
  auto x = torch::randint(0, 256, {2, 16}, torch::kLong);
  auto loss = m->loss(x, ids(16), torch::roll(x, -1, 1));
  loss.backward();
  EXPECT_TRUE(std::isfinite(loss.item<float>()));
  auto params = m->named_parameters();
  for (std::string name : {"pos.table_0", "pos.table_1"}) {
    auto* p = params.find(name);
    ASSERT_NE(p, nullptr) << name;  // registered: saved in checkpoints, seen by the optimizer
    ASSERT_TRUE(p->grad().defined()) << name;
    EXPECT_GT(p->grad().abs().sum().item<float>(), 0.0f) << name;
  }
  EXPECT_EQ(m->position_scheme().describe()["variant"], "key_query");
}

TEST(RelativePositions, TablesRoundTripThroughACheckpoint) {
  auto cfg = tiny(rel("shaw", 6));
  torch::manual_seed(8);
  auto a = ctx::make_language_model(cfg, nullptr, 259);
  auto b = ctx::make_language_model(cfg, nullptr, 259);
  const std::string path = std::string(CTXLAB_TEST_TMP) + "/relative_roundtrip.pt";
  ctx::save_checkpoint(path, a, nullptr, 3, "{}");
  ctx::load_checkpoint(path, b);
  torch::NoGradGuard ng;
  auto x = torch::randint(0, 256, {2, 20}, torch::kLong);
  EXPECT_TRUE(torch::equal(a->forward(x, ids(20)), b->forward(x, ids(20))));
}

TEST(RelativePositions, MatchesCpuOnCuda) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  for (const nlohmann::json& pos : {rel("shaw", 8), rel("key_query", 100)}) {
    expect_cuda_matches_cpu(tiny(pos, 4), pos.dump());
  }
}
