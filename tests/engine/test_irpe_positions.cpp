// iRPE 1-D causal adaptation: the bucket function against the reference boundaries, the gather path
// against a naive loop, zero init = base model, bounded buckets for any id, causality, shift
// invariance, forward/backward and the registry's checks.
#include <gtest/gtest.h>

#include "scheme_test_util.h"
#include <torch/cuda.h>

#include <cmath>

#include "model/irpe_positions.h"
#include "model/language_model.h"
#include "train/checkpoint.h"
#include "config/run_config.h"

namespace {

nlohmann::json irpe(nlohmann::json params = nlohmann::json::object()) {
  params["type"] = "irpe";
  return params;
}

// METHODS.md §7b Eq. 18 written out independently: exact (half-to-even) up to alpha, then the
// log part rounded, capped at the float beta and truncated.
int64_t ref_g(double x, double alpha, double beta, double gamma) {
  const double a = std::fabs(x);
  if (a <= alpha) return static_cast<int64_t>(std::nearbyint(x));
  double y = std::nearbyint(alpha + (beta - alpha) * std::log(a / alpha) / std::log(gamma / alpha));
  if (y > beta) y = beta;
  return x < 0 ? -static_cast<int64_t>(std::trunc(y)) : static_cast<int64_t>(std::trunc(y));
}

struct Run {
  int64_t first, last, bucket;
};

// Maximal runs of equal buckets over integer distances 0..n-1.
std::vector<Run> runs(int64_t n, double alpha, double beta, double gamma) {
  std::vector<Run> out;
  for (int64_t d = 0; d < n; ++d) {
    const int64_t b = ref_g(static_cast<double>(d), alpha, beta, gamma);
    if (!out.empty() && out.back().bucket == b)
      out.back().last = d;
    else
      out.push_back({d, d, b});
  }
  return out;
}

// Copies the base model's weights into the iRPE model (pos.base.* <- pos.*); only iRPE tables have
// no source.
void copy_weights(ctx::LanguageModel& from, ctx::LanguageModel& to) {
  torch::NoGradGuard ng;
  auto src = from->named_parameters();
  for (auto& p : to->named_parameters()) {
    std::string key = p.key();
    if (key.rfind("pos.base.", 0) == 0) key = "pos." + key.substr(9);
    if (auto* s = src.find(key)) {
      p.value().copy_(*s);
    } else {
      EXPECT_EQ(key.rfind("pos.", 0), 0u) << key;
    }
  }
}

}  // namespace

TEST(IrpePositions, Ratio19BucketsMatchTheReference) {
  // alpha:beta:gamma = 1.9 : 3.8 : 15.2 -> 0, +-1 exact, +-2..3 -> +-2, |x| >= 4 -> +-3.
  for (int x = -40; x <= 40; ++x) {
    const int a = std::abs(x), s = x < 0 ? -1 : 1;
    const int want = a <= 1 ? x : a <= 3 ? 2 * s : 3 * s;
    EXPECT_EQ(ctx::irpe_piecewise_index(static_cast<double>(x), 1.9, 3.8, 15.2), want) << x;
    EXPECT_EQ(ref_g(x, 1.9, 3.8, 15.2), want) << x;
  }
  // Ratio 2.0 (DETR): 0, 1 exact; 2-3 -> 2; 4-9 -> 3; >= 10 -> 4.
  for (int x = 0; x <= 40; ++x) {
    const int want = x <= 1 ? x : x <= 3 ? 2 : x <= 9 ? 3 : 4;
    EXPECT_EQ(ctx::irpe_piecewise_index(static_cast<double>(x), 2.0, 4.0, 16.0), want) << x;
  }
}

TEST(IrpePositions, DefaultBucketBoundaries) {
  const double A = 16, B = 32, G = 128;
  // Scalar, tensor and the scheme's cached lookup all follow the formula.
  auto xs = torch::arange(-3000, 3000, torch::kDouble);
  auto gt = ctx::irpe_piecewise_index(xs, A, B, G);
  for (int64_t i = 0; i < xs.size(0); ++i) {
    const double x = xs[i].item<double>();
    ASSERT_EQ(gt[i].item<int64_t>(), ref_g(x, A, B, G)) << x;
    ASSERT_EQ(ctx::irpe_piecewise_index(x, A, B, G), ref_g(x, A, B, G)) << x;
  }
  ctx::IrpePositions s(tiny(irpe()), nullptr);
  s.prepare(ids(400));
  for (int64_t d = 0; d < 400; ++d)
    ASSERT_EQ(s.bucket_index()[0][0][d][0].item<int64_t>(), ref_g(static_cast<double>(d), A, B, G))
        << d;

  // The list of §7b: d = 0..15 exact, 16 log buckets over 16..119, d >= 120 -> 32.
  auto r = runs(5000, A, B, G);
  ASSERT_EQ(r.size(), 33u);
  for (int64_t d = 0; d < 16; ++d) EXPECT_EQ(r[static_cast<size_t>(d)].first, d);
  for (int64_t d = 0; d < 16; ++d) EXPECT_EQ(r[static_cast<size_t>(d)].last, d);
  for (size_t i = 0; i < r.size(); ++i) EXPECT_EQ(r[i].bucket, static_cast<int64_t>(i));
  // Hand spot checks: 16-17 -> 16, 18-19 -> 17, 20-22 -> 18, 106-119 -> 31, >= 120 -> 32.
  EXPECT_EQ(r[16].first, 16);
  EXPECT_EQ(r[16].last, 17);
  EXPECT_EQ(r[17].first, 18);
  EXPECT_EQ(r[17].last, 19);
  EXPECT_EQ(r[18].first, 20);
  EXPECT_EQ(r[18].last, 22);
  EXPECT_EQ(r[31].first, 106);
  EXPECT_EQ(r[31].last, 119);
  EXPECT_EQ(r[32].first, 120);
  EXPECT_EQ(r[32].last, 4999);
  EXPECT_EQ(s.describe()["saturates_at"], 120);
  EXPECT_EQ(s.num_buckets(), 33);
  // Fractional distances: rounded half to even inside alpha.
  EXPECT_EQ(ctx::irpe_piecewise_index(2.5, A, B, G), 2);
  EXPECT_EQ(ctx::irpe_piecewise_index(3.5, A, B, G), 4);
  // Outside alpha the float formula applies: bucket 17 starts at 16 * 8^(1/32) = 17.07.
  EXPECT_EQ(ctx::irpe_piecewise_index(17.05, A, B, G), 16);
  EXPECT_EQ(ctx::irpe_piecewise_index(17.1, A, B, G), 17);
  // A non-integer beta caps at floor(beta) after the float clamp.
  EXPECT_EQ(ctx::irpe_piecewise_index(1e6, 2.0, 4.5, 16.0), 4);
}

TEST(IrpePositions, IdsBeyondTrainingNeverExceedTheLastBucket) {
  for (bool sink : {false, true}) {
    ctx::IrpePositions s(tiny(irpe({{"sink_bucket", sink}})), nullptr);
    const int64_t B = s.max_bucket();
    EXPECT_EQ(B, 32);
    // Gapped ids far past any training length, integer and fractional.
    for (auto pos : {ids(64) * 100000, ids(64) * 12345.678f + 3.3f, ids(300, 1e6f)}) {
      s.prepare(pos);
      auto idx = s.bucket_index();
      EXPECT_GE(idx.min().item<int64_t>(), 0);
      EXPECT_EQ(idx.max().item<int64_t>(), sink ? B + 1 : B);
      // Far pairs sit in bucket B; the first key gets the sink bucket.
      const int64_t last = pos.size(1) - 1;
      EXPECT_EQ(idx[0][0][last][1].item<int64_t>(), B);
      EXPECT_EQ(idx[0][0][last][0].item<int64_t>(), sink ? B + 1 : B);
    }
  }
}

TEST(IrpePositions, GatherPathEqualsNaiveLoop) {
  for (std::string mode : {"contextual", "bias"}) {
    torch::manual_seed(6);
    auto cfg = tiny(irpe({{"mode", mode},
                          {"on", mode == "bias" ? "k" : "qk"},
                          {"shared_heads", "false"},
                          {"sink_bucket", true},
                          {"alpha", 2},
                          {"beta", 4},
                          {"gamma", 16}}));
    ctx::IrpePositions s(cfg, nullptr);
    const int64_t H = 2, T = 9, D = 16, NB = 6;  // buckets 0..4 plus the sink
    ASSERT_EQ(s.num_buckets(), NB);
    {
      torch::NoGradGuard ng;
      for (auto& p : s.parameters()) p.normal_();
    }
    auto pos = torch::tensor({0.f, 1.f, 2.f, 2.5f, 6.f, 9.f, 30.f, 31.f, 31.2f,  //
                              5.f, 6.f, 7.f, 8.f, 9.f, 10.f, 11.f, 12.f, 13.f})
                   .view({2, T});
    s.prepare(pos);
    auto q = torch::randn({2, H, T, D}), k = torch::randn({2, H, T, D});
    auto got = s.logit_bias(q, k, 1);
    ASSERT_EQ(got.size(-1), T);
    auto pa = pos.accessor<float, 2>();
    auto qa = q.accessor<float, 4>(), ka = k.accessor<float, 4>();
    for (int b = 0; b < 2; ++b)
      for (int h = 0; h < H; ++h)
        for (int i = 0; i < T; ++i)
          for (int j = 0; j <= i; ++j) {
            const double dist = static_cast<double>(pa[b][i]) - static_cast<double>(pa[b][j]);
            const int64_t t = j == 0 ? 5 : std::min<int64_t>(ref_g(dist, 2, 4, 16), 4);
            double e = 0;
            if (mode == "bias") {
              e = s.table("bias", 1)[h][t].item<double>();
            } else {
              auto rk = s.table("k", 1).detach(), rq = s.table("q", 1).detach();
              for (int c = 0; c < D; ++c)
                e += (qa[b][h][i][c] * rk[h][c][t].item<double>() +
                      ka[b][h][j][c] * rq[h][c][t].item<double>()) /
                     std::sqrt(16.0);
            }
            const auto bb = got.size(0) == 1 ? 0 : b;
            EXPECT_NEAR(got[bb][h][i][j].item<double>(), e, 1e-5)
                << mode << " " << b << h << i << j;
          }
  }
}

TEST(IrpePositions, ZeroInitialisedModelEqualsItsBase) {
  for (std::string base : {"nope", "rope", "learned"}) {
    for (nlohmann::json extra :
         {nlohmann::json{{"on", "qk"}, {"sink_bucket", true}}, nlohmann::json{{"mode", "bias"}}}) {
      torch::manual_seed(7);
      auto plain = ctx::make_language_model(tiny(base), nullptr, 259);
      extra["base"] = base;
      auto withrpe = ctx::make_language_model(tiny(irpe(extra)), nullptr, 259);
      copy_weights(plain, withrpe);
      torch::NoGradGuard ng;
      auto x = torch::randint(0, 256, {2, 24}, torch::kLong);
      auto a = plain->forward(x, ids(24)), b = withrpe->forward(x, ids(24));
      EXPECT_TRUE(torch::allclose(a, b, 1e-5, 1e-5)) << base << " " << extra.dump();
      // Not vacuous: non-zero tables change the logits.
      for (auto& p : withrpe->named_parameters())
        if (p.key().rfind("pos.base.", 0) != 0 && p.key().rfind("pos.", 0) == 0)
          p.value().normal_();
      EXPECT_FALSE(torch::allclose(a, withrpe->forward(x, ids(24)), 1e-4, 1e-4))
          << base << " " << extra.dump();
    }
  }
}

TEST(IrpePositions, ChangingALaterTokenLeavesEarlierLogitsUnchanged) {
  for (nlohmann::json p : {nlohmann::json{{"on", "qk"}, {"base", "rope"}, {"sink_bucket", true}},
                           nlohmann::json{{"mode", "bias"}, {"base", "learned"}}}) {
    torch::manual_seed(1);
    auto m = ctx::make_language_model(tiny(irpe(p)), nullptr, 259);
    torch::NoGradGuard ng;
    for (auto& t : m->position_scheme().parameters()) t.normal_();
    auto x = torch::randint(0, 256, {1, 24}, torch::kLong);
    auto y = x.clone();
    y[0][17] = (x[0][17].item<int64_t>() + 1) % 256;
    auto a = m->forward(x, ids(24)), b = m->forward(y, ids(24));
    EXPECT_TRUE(torch::allclose(a.narrow(1, 0, 17), b.narrow(1, 0, 17), 1e-5, 1e-5)) << p.dump();
    EXPECT_FALSE(torch::allclose(a.narrow(1, 17, 7), b.narrow(1, 17, 7), 1e-5, 1e-5)) << p.dump();
  }
}

TEST(IrpePositions, LogitsAreInvariantToShiftingEveryId) {
  for (nlohmann::json p :
       {nlohmann::json{{"on", "qk"}, {"alpha", 2}, {"beta", 4}, {"gamma", 16}},
        nlohmann::json{{"mode", "bias"}, {"alpha", 2}, {"beta", 4}, {"gamma", 16}}}) {
    torch::manual_seed(2);
    auto m = ctx::make_language_model(tiny(irpe(p)), nullptr, 259);
    torch::NoGradGuard ng;
    for (auto& t : m->position_scheme().parameters()) t.normal_();
    auto x = torch::randint(0, 256, {2, 20}, torch::kLong);
    auto base = m->forward(x, ids(20));
    for (float shift : {1.0f, 5000.0f, 0.25f})
      EXPECT_TRUE(torch::allclose(m->forward(x, ids(20, shift)), base, 1e-5, 1e-5))
          << p.dump() << " " << shift;
    EXPECT_FALSE(torch::allclose(m->forward(x, ids(20) * 2), base, 1e-4, 1e-4)) << p.dump();
  }
}

TEST(IrpePositions, ForwardAndBackwardReachTheTables) {
  for (nlohmann::json p : {nlohmann::json{{"on", "qk"}, {"base", "rope"}, {"sink_bucket", true}},
                           nlohmann::json{{"mode", "bias"}, {"base", "learned"}}}) {
    torch::manual_seed(3);
    auto m = ctx::make_language_model(tiny(irpe(p)), nullptr, 259);
    auto x = torch::randint(0, 256, {2, 16}, torch::kLong);
    auto loss = m->loss(x, ids(16), torch::roll(x, -1, 1));
    loss.backward();
    EXPECT_TRUE(std::isfinite(loss.item<float>()));
    auto params = m->named_parameters();
    const bool bias = p.value("mode", "contextual") == "bias";
    std::vector<std::string> names =
        bias ? std::vector<std::string>{"pos.bias_0", "pos.bias_1", "pos.base.table"}
             : std::vector<std::string>{"pos.k_0", "pos.q_0", "pos.k_1", "pos.q_1"};
    for (auto& name : names) {
      auto* t = params.find(name);
      ASSERT_NE(t, nullptr)
          << name;  // registered: saved in checkpoints, seen by the optimizer (no decay: "pos.")
      ASSERT_TRUE(t->grad().defined()) << name;
      EXPECT_GT(t->grad().abs().sum().item<float>(), 0.0f) << name;
    }
    // Heads: contextual shares one table by default, bias mode has one per head.
    auto d = m->position_scheme().describe();
    EXPECT_EQ(d["shared_heads"], !bias);
    EXPECT_EQ(params.find(bias ? "pos.bias_0" : "pos.k_0")->size(0), bias ? 2 : 1);
  }
}

TEST(IrpePositions, RegistryRejectsUnsupportedSites) {
  try {
    tiny(irpe({{"on", "kv"}}));
    FAIL() << "v accepted";
  } catch (const ctx::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("value term (v) is not supported"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(tiny(irpe({{"mode", "bias"}, {"on", "qk"}})), ctx::ConfigError);
  EXPECT_THROW(tiny(irpe({{"on", "x"}})), ctx::ConfigError);
  EXPECT_THROW(tiny(irpe({{"gamma", 8}})), ctx::ConfigError);  // gamma must exceed alpha
  EXPECT_THROW(tiny(irpe({{"shared_heads", "yes"}})), ctx::ConfigError);
  EXPECT_NO_THROW(tiny(irpe({{"on", "kq"}, {"shared_heads", "false"}, {"base", "rope"}})));
}

TEST(IrpePositions, TablesRoundTripThroughACheckpoint) {
  auto cfg = tiny(irpe({{"on", "qk"}, {"base", "learned"}, {"sink_bucket", true}}));
  torch::manual_seed(8);
  auto a = ctx::make_language_model(cfg, nullptr, 259);
  auto b = ctx::make_language_model(cfg, nullptr, 259);
  {
    torch::NoGradGuard ng;
    for (auto& t : a->position_scheme().parameters()) t.normal_();
  }
  const std::string path = std::string(CTXLAB_TEST_TMP) + "/irpe_roundtrip.pt";
  ctx::save_checkpoint(path, a, nullptr, 3, "{}");
  ctx::load_checkpoint(path, b);
  torch::NoGradGuard ng;
  auto x = torch::randint(0, 256, {2, 20}, torch::kLong);
  EXPECT_TRUE(torch::equal(a->forward(x, ids(20)), b->forward(x, ids(20))));
  // The learned base's table goes through the base's own adaptation; iRPE tables are never adapted.
  auto& s = a->position_scheme();
  EXPECT_EQ(s.adapt_loaded("base.table", torch::randn({32, 32})).size(0), 64);
  EXPECT_FALSE(s.adapt_loaded("k_0", torch::randn({1, 16, 5})).defined());
}

TEST(IrpePositions, MatchesCpuOnCuda) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  for (const nlohmann::json& pos : {irpe({{"on", "qk"}, {"base", "rope"}, {"sink_bucket", true}}),
                                    irpe({{"mode", "bias"}, {"base", "learned"}})}) {
    expect_cuda_matches_cpu(tiny(pos, 4), pos.dump());
  }
}
