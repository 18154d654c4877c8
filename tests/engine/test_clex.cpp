// CLEX: the untrained ODE reproduces NTK scaling with α = 2t − 1 (METHODS.md §2), the fast RK
// solver and its hand-written reverse pass match LibTorch autograd on the plain reference, and a
// model with rope_scaling clex trains the ODE through its position ids.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include <torch/autograd.h>

#include "model/clex_ode.h"
#include "train/checkpoint.h"
#include "model/rope.h"
#include "model/language_model.h"
#include "config/run_config.h"

namespace {

ctx::ClexOptions small_options(const std::string& scheme = "3/8", const std::string& act = "tanh") {
  ctx::ClexOptions o;
  o.rot_dim = 16;
  o.theta = 10000.0;
  o.max_t = 6;
  o.scheme = scheme;
  o.act = act;
  return o;
}

}  // namespace

TEST(Clex, UntrainedOdeIsNtkWithAlphaTwoTMinusOne) {
  ctx::ClexOde ode(small_options());
  torch::NoGradGuard ng;
  auto z = ode->solve(6);
  ASSERT_EQ(z.size(0), 6);
  const double d = 16;
  for (int t = 1; t <= 6; ++t) {
    const double alpha = 2.0 * t - 1.0;
    const double base = 10000.0 * std::pow(alpha, d / (d - 2));
    for (int j = 0; j < 8; ++j) {
      const double expected = std::pow(base, -2.0 * j / d);
      EXPECT_NEAR(std::exp(z[t - 1][j].item<double>()) / expected, 1.0, 2e-5) << "t " << t << " pair " << j;
    }
  }
}

TEST(Clex, FastSolverMatchesAutogradReferenceInValueAndGradient) {
  for (auto scheme : {"3/8", "classic"}) {
    for (auto act : {"tanh", "silu"}) {
      torch::manual_seed(7);
      ctx::ClexOde ode(small_options(scheme, act));
      {
        torch::NoGradGuard ng;
        ode->down.normal_(0, 0.3);  // a trained-looking field, so the network term matters
      }
      auto w = torch::randn({4, 8});
      auto fast = ode->solve(4);
      auto ref = ode->solve_reference(4);
      EXPECT_TRUE(torch::allclose(fast, ref, 1e-4, 1e-5)) << scheme << act << (fast - ref).abs().max().item<float>();

      auto gf = torch::autograd::grad({(fast * w).sum()}, {ode->up, ode->down});
      auto gr = torch::autograd::grad({(ref * w).sum()}, {ode->up, ode->down});
      for (int i = 0; i < 2; ++i) {
        const double scale = gr[i].abs().max().item<double>();
        ASSERT_GT(scale, 1e-6);
        EXPECT_LT((gf[i] - gr[i]).abs().max().item<double>() / scale, 1e-3) << scheme << act << " param " << i;
      }
    }
  }
}

TEST(Clex, BothRungeKuttaTableausAgreeAtStep001) {
  torch::manual_seed(8);
  ctx::ClexOde a(small_options("3/8")), b(small_options("classic"));
  torch::NoGradGuard ng;
  a->down.normal_(0, 0.3);
  b->up.copy_(a->up);
  b->down.copy_(a->down);
  EXPECT_TRUE(torch::allclose(a->solve(6), b->solve(6), 1e-5, 1e-5));
}

TEST(Clex, ModelLearnsTheOdeThroughPositionsAndEvaluatesPastL0) {
  auto cfg = ctx::parse_run_config({{"model", {{"layers", 1}, {"d_model", 32}, {"heads", 2}, {"max_positions", 16}}},
                                    {"rope_scaling", {{"rope_type", "clex"}, {"max_factor", 4}}}});
  torch::manual_seed(9);
  auto m = ctx::make_language_model(cfg.model, cfg.rope_scaling, 259);
  auto& rope = dynamic_cast<ctx::RopeScheme&>(m->position_scheme());
  ASSERT_TRUE(rope.clex());
  {
    torch::NoGradGuard ng;
    rope.clex()->down.normal_(0, 0.05);  // so the up projection receives gradient too
  }
  // 16 tokens whose ids span [0, 48): scale t = 3.
  auto x = torch::randint(0, 256, {2, 17}, torch::kLong);
  auto ids = (torch::arange(16, torch::kFloat) * 3).unsqueeze(0).expand({2, 16}).contiguous();
  auto loss = m->loss(x.narrow(1, 0, 16), ids, x.narrow(1, 1, 16));
  loss.backward();
  EXPECT_GT(rope.clex()->down.grad().abs().sum().item<double>(), 0.0);
  EXPECT_GT(rope.clex()->up.grad().abs().sum().item<double>(), 0.0);

  // Evaluation at 40 tokens (t = ⌈40/16⌉ = 3) uses the cached grid and matches a direct solve.
  m->eval();
  torch::NoGradGuard ng;
  auto y = torch::randint(0, 256, {1, 40}, torch::kLong);
  auto p = torch::arange(40, torch::kFloat).unsqueeze(0);
  auto logits = m->forward(y, p);
  EXPECT_EQ(logits.size(1), 40);
  EXPECT_EQ(rope.describe().value("rope_type", ""), "clex");
}

TEST(Clex, FineTuneFromAPlainRopeCheckpointStartsTheOdeAtItsInit) {
  auto base = ctx::parse_run_config({{"model", {{"layers", 1}, {"d_model", 32}, {"heads", 2}, {"max_positions", 16}}}});
  auto clex = base;
  clex.rope_scaling = ctx::parse_run_config({{"model", {{"layers", 1}, {"d_model", 32}, {"heads", 2}, {"max_positions", 16}}},
                                             {"rope_scaling", {{"rope_type", "clex"}, {"max_factor", 4}}}})
                          .rope_scaling;
  auto a = ctx::make_language_model(base.model, nullptr, 259);
  auto b = ctx::make_language_model(clex.model, clex.rope_scaling, 259);
  auto dir = std::filesystem::path(CTXLAB_TEST_TMP) / "clex";
  std::filesystem::create_directories(dir);
  auto path = (dir / "rope-base.pt").string();
  ctx::save_checkpoint(path, a, nullptr, 5, "{}");
  // A strict load (resume) refuses; an init from a base run keeps the ODE at its own init.
  EXPECT_THROW(ctx::load_checkpoint(path, b), ctx::CheckpointError);
  auto info = ctx::load_checkpoint(path, b, nullptr, true);
  EXPECT_EQ(info.fresh, (std::vector<std::string>{"pos.clex.up", "pos.clex.down"}));
  auto& rope = dynamic_cast<ctx::RopeScheme&>(b->position_scheme());
  EXPECT_EQ(rope.clex()->down.abs().sum().item<float>(), 0.0f);
  torch::NoGradGuard ng;
  auto x = torch::randint(0, 256, {1, 16}, torch::kLong);
  auto p = torch::arange(16, torch::kFloat).unsqueeze(0);
  // Within L0 (t = 1) the CLEX model is the base model exactly.
  EXPECT_TRUE(torch::allclose(a->forward(x, p), b->forward(x, p), 1e-5, 1e-5));
}

TEST(Clex, FrequenciesInUseFollowTheTrainedOde) {
  auto cfg = ctx::parse_run_config({{"model", {{"layers", 1}, {"d_model", 32}, {"heads", 2}, {"max_positions", 16}}},
                                    {"rope_scaling", {{"rope_type", "clex"}, {"max_factor", 4}}}});
  auto m = ctx::make_language_model(cfg.model, cfg.rope_scaling, 259);
  auto& rope = dynamic_cast<ctx::RopeScheme&>(m->position_scheme());
  // Untrained (zero down projection): the registry formula (NTK, α = 2t − 1, t = ⌈40/16⌉ = 3).
  auto formula = rope.frequencies(40), used = rope.frequencies_in_use(40);
  ASSERT_EQ(used.inv_freq.size(), formula.inv_freq.size());
  for (size_t j = 0; j < used.inv_freq.size(); ++j) EXPECT_NEAR(used.inv_freq[j] / formula.inv_freq[j], 1.0, 1e-4);
  EXPECT_EQ(used.resolved["t"], 3);
  {
    torch::NoGradGuard ng;
    rope.clex()->down.normal_(0, 0.3);
  }
  m->train();  // training mode drops the cached evaluation grid on the next forward
  auto x = torch::randint(0, 256, {1, 16}, torch::kLong);
  m->loss(x, (torch::arange(16, torch::kFloat) * 3).unsqueeze(0), x);
  auto trained = rope.frequencies_in_use(40);
  double diff = 0;
  for (size_t j = 0; j < trained.inv_freq.size(); ++j) diff += std::abs(std::log(trained.inv_freq[j] / formula.inv_freq[j]));
  EXPECT_GT(diff, 1e-3);
}
