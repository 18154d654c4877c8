// The layer's fused CUDA paths against their readable references: the stacked q/k/v rotation
// (model/fused_ops.h: one kernel cuts the product into heads and rotates q and k, one writes the
// product's gradient) against split-then-rotate in fp64, and RMSNorm with CtxLab's weight-gradient
// kernel (model/fused_norm.h) against the formula in fp64; then a whole Llama-shaped model with
// both paths on against both off (CTXLAB_QKV_ROPE=split, CTXLAB_RMS_NORM=aten): logits and every
// gradient. On the CPU: the norm's gradient formulas against autograd. GPU cases skip without CUDA.
#include <gtest/gtest.h>
#include <torch/autograd.h>
#include <torch/cuda.h>
#include <torch/nn/functional/loss.h>
#include <torch/types.h>
#include <torch/utils.h>
#include <torch/version.h>

#include <cstdlib>
#include <map>
#include <string>

#include "config/run_config.h"
#include "model/fused_norm.h"
#include "model/fused_ops.h"
#include "model/language_model.h"
#include "model/llama.h"
#include "model/rope.h"

using namespace ctx;

namespace {

constexpr bool kFusedNormExpected = TORCH_VERSION_MAJOR > 2 ||
                                    (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 8);

double max_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kCPU, torch::kDouble) - b.to(torch::kCPU, torch::kDouble))
      .abs()
      .max()
      .item<double>();
}

// Angles for ids up to 3000 at Dh: cos/sin [Bc, 1, T, Dh/2] in fp64.
std::pair<torch::Tensor, torch::Tensor> angles(int64_t Bc, int64_t T, int64_t Dh) {
  auto ang =
      (torch::rand({Bc, T, 1}, torch::kDouble) * 3000) *
      torch::pow(10000.0, -torch::arange(0, Dh, 2, torch::kDouble) / static_cast<double>(Dh));
  return {ang.cos().unsqueeze(1), ang.sin().unsqueeze(1)};
}

}  // namespace

TEST(FusedLayerKernels, NormGradientFormulasEqualAutograd) {
  torch::manual_seed(3);
  auto x = (torch::randn({3, 7, 40}, torch::kDouble) * 2).requires_grad_(true);
  auto w = torch::randn({40}, torch::kDouble).requires_grad_(true);
  auto y = rms_norm_reference(x, w, 1e-5);
  auto dy = torch::randn_like(y);
  auto g = torch::autograd::grad({y}, {x, w}, {dy});
  auto rstd = torch::rsqrt(x.detach().pow(2).mean(-1) + 1e-5).reshape({-1});
  // The formulas compute in fp32: compare at fp32's precision.
  EXPECT_LT(max_diff(rms_norm_input_grad_reference(x.detach(), w.detach(), rstd, dy), g[0]), 1e-5);
  EXPECT_LT(max_diff(rms_norm_weight_grad_reference(x.detach(), rstd, dy), g[1]), 1e-4);
  // A wrong sign or a missing mean term is far outside that.
  EXPECT_GT(max_diff(rms_norm_input_grad_reference(x.detach(), w.detach(), rstd, dy),
                     dy * w.detach() * rstd.view({3, 7, 1})),
            1e-2);
}

TEST(FusedLayerKernels, StackedQkvRotationEqualsSplitThenRotateBothWays) {
  if (!torch::cuda::is_available() || !cuda_kernels_built())
    GTEST_SKIP() << "no CUDA device or no CUDA kernels";
  torch::manual_seed(12);
  struct Case {
    int64_t B, T, hq, hkv, Dh, Bc;
  };
  // Grouped heads, angles per batch row and shared; Dh = 20 leaves the 16-byte loads (scalar path).
  for (const auto& c :
       {Case{2, 70, 4, 2, 32, 2}, Case{1, 33, 3, 3, 64, 1}, Case{2, 9, 2, 1, 20, 1}}) {
    auto [cos64, sin64] = angles(c.Bc, c.T, c.Dh);
    auto cos = cos64.to(torch::kCUDA, torch::kFloat), sin = sin64.to(torch::kCUDA, torch::kFloat);
    for (auto dtype : {torch::kFloat, torch::kBFloat16}) {
      const int64_t width = (c.hq + 2 * c.hkv) * c.Dh;
      auto qkv =
          torch::randn({c.B, c.T, width}, torch::TensorOptions().dtype(dtype).device(torch::kCUDA))
              .requires_grad_(true);
      auto parts = split_rotate_qkv(qkv, cos, sin, c.hq, c.hkv);
      ASSERT_EQ(parts.size(), 3u) << "the kernel path did not apply";
      // Reference: cut the product into heads, rotate q and k, in fp64 on the CPU.
      auto ref_in = qkv.detach().to(torch::kCPU, torch::kDouble).requires_grad_(true);
      auto heads = ref_in.view({c.B, c.T, c.hq + 2 * c.hkv, c.Dh}).transpose(1, 2);
      auto rq = apply_rope(heads.narrow(1, 0, c.hq), cos64, sin64, RopePairing::Half);
      auto rk = apply_rope(heads.narrow(1, c.hq, c.hkv), cos64, sin64, RopePairing::Half);
      auto rv = heads.narrow(1, c.hq + c.hkv, c.hkv);
      const double tol = dtype == torch::kFloat ? 2e-5 : 4e-2;
      EXPECT_EQ(parts[0].sizes(), rq.sizes());
      EXPECT_EQ(parts[1].sizes(), rk.sizes());
      EXPECT_EQ(parts[2].sizes(), rv.sizes());
      EXPECT_LT(max_diff(parts[0], rq), tol);
      EXPECT_LT(max_diff(parts[1], rk), tol);
      EXPECT_EQ(max_diff(parts[2], rv), 0.0);  // v is the product's own values
      std::vector<torch::Tensor> gs;
      torch::Tensor fast_sum = torch::zeros({}, torch::kCUDA),
                    ref_sum = torch::zeros({}, torch::kDouble);
      const std::vector<torch::Tensor> refs = {rq, rk, rv};
      for (size_t i = 0; i < 3; ++i) {
        auto g = torch::randn(refs[i].sizes(), torch::kDouble);
        fast_sum =
            fast_sum + (parts[i].to(torch::kFloat) * g.to(torch::kCUDA, torch::kFloat)).sum();
        ref_sum = ref_sum + (refs[i] * g).sum();
      }
      fast_sum.backward();
      ref_sum.backward();
      EXPECT_LT(max_diff(qkv.grad(), ref_in.grad()), tol) << "Dh " << c.Dh << " dtype " << dtype;
    }
  }
  // The A/B switch turns the path off.
  setenv("CTXLAB_QKV_ROPE", "split", 1);
  auto qkv = torch::randn({1, 8, 4 * 32}, torch::kCUDA);
  auto [c64, s64] = angles(1, 8, 32);
  EXPECT_TRUE(split_rotate_qkv(qkv, c64.to(torch::kCUDA, torch::kFloat),
                               s64.to(torch::kCUDA, torch::kFloat), 2, 1)
                  .empty());
  unsetenv("CTXLAB_QKV_ROPE");
}

TEST(FusedLayerKernels, RmsNormWeightGradientKernelEqualsTheFormula) {
  if (!torch::cuda::is_available() || !cuda_kernels_built())
    GTEST_SKIP() << "no CUDA device or no CUDA kernels";
  if (!kFusedNormExpected) GTEST_SKIP() << "LibTorch before 2.8 has no _fused_rms_norm";
  ASSERT_TRUE(rms_norm_fused_available(torch::kBFloat16))
      << "aten::_fused_rms_norm and its backward not found";
  torch::manual_seed(13);
  // D = 1024 (16-byte loads), D = 100 (one element per thread); rows that do not divide the splits.
  for (const auto& [N, D] :
       std::vector<std::pair<int64_t, int64_t>>{{4 * 517, 1024}, {3 * 37, 100}}) {
    for (auto dtype : {torch::kFloat, torch::kBFloat16}) {
      auto opts = torch::TensorOptions().dtype(dtype).device(torch::kCUDA);
      auto x = (torch::randn({4, N / 4, D}, torch::kCUDA) * 3).to(dtype).requires_grad_(true);
      auto w = (torch::randn({D}, torch::kCUDA) * 0.2 + 1).to(dtype).requires_grad_(true);
      auto y = rms_norm_fused(x, w, 1e-5);
      ASSERT_TRUE(y.defined());
      auto dy = torch::randn(y.sizes(), opts);
      auto g = torch::autograd::grad({y}, {x, w}, {dy});
      // The formula in fp64 from the same (rounded) inputs.
      auto x64 = x.detach().to(torch::kCPU, torch::kDouble),
           w64 = w.detach().to(torch::kCPU, torch::kDouble);
      auto dy64 = dy.to(torch::kCPU, torch::kDouble);
      auto rstd = torch::rsqrt(x64.pow(2).mean(-1) + 1e-5).reshape({-1});
      auto y64 = x64 * rstd.view({4, N / 4, 1}) * w64;
      auto dw64 = (dy64 * x64 * rstd.view({4, N / 4, 1})).sum(c10::IntArrayRef{0, 1});
      auto dx64 = rms_norm_input_grad_reference(x64, w64, rstd, dy64);
      auto rel = [](const torch::Tensor& a, const torch::Tensor& ref) {
        return ((a.to(torch::kCPU, torch::kDouble) - ref).norm() / ref.norm()).item<double>();
      };
      const double tol = dtype == torch::kFloat ? 1e-5 : 1e-2;
      EXPECT_LT(rel(y, y64), tol) << N << "x" << D;
      EXPECT_LT(rel(g[0], dx64), tol) << N << "x" << D;
      EXPECT_LT(rel(g[1], dw64), tol) << N << "x" << D;
    }
  }
  // The A/B switch turns the path off.
  setenv("CTXLAB_RMS_NORM", "aten", 1);
  EXPECT_FALSE(
      rms_norm_fused(torch::randn({2, 8}, torch::kCUDA), torch::ones({8}, torch::kCUDA), 1e-5)
          .defined());
  unsetenv("CTXLAB_RMS_NORM");
}

TEST(FusedLayerKernels, ModelWithTheFusedPathsEqualsTheModelWithout) {
  if (!torch::cuda::is_available() || !cuda_kernels_built())
    GTEST_SKIP() << "no CUDA device or no CUDA kernels";
  // Grouped heads, YaRN angles (an attention factor in cos/sin), fp32 so that the paths compare
  // tightly.
  auto cfg = parse_run_config({{"model",
                                {{"arch", "llama"},
                                 {"layers", 2},
                                 {"d_model", 128},
                                 {"heads", 4},
                                 {"kv_heads", 2},
                                 {"ffn_hidden", 192},
                                 {"max_positions", 64}}},
                               {"rope_scaling", {{"rope_type", "yarn"}, {"factor", 4}}}});
  torch::manual_seed(14);
  auto m = make_language_model(cfg.model, cfg.rope_scaling, 97);
  m->to(torch::kCUDA);
  auto x = torch::randint(0, 97, {2, 80},
                          torch::TensorOptions().dtype(torch::kLong).device(torch::kCUDA));
  auto y = torch::randint(0, 97, {2, 80},
                          torch::TensorOptions().dtype(torch::kLong).device(torch::kCUDA));
  auto p =
      (torch::arange(80, torch::kFloat) * 0.75).unsqueeze(0).expand({2, 80}).contiguous().cuda();
  auto pass = [&](bool fused) {
    if (!fused) {
      setenv("CTXLAB_QKV_ROPE", "split", 1);
      setenv("CTXLAB_RMS_NORM", "aten", 1);
    }
    m->zero_grad();
    auto logits = m->forward(x, p);
    auto loss = torch::nn::functional::cross_entropy(logits.flatten(0, 1), y.flatten());
    loss.backward();
    std::map<std::string, torch::Tensor> out{{"logits", logits.detach().clone()}};
    for (const auto& kv : m->named_parameters())
      if (kv.value().grad().defined()) out[kv.key()] = kv.value().grad().clone();
    unsetenv("CTXLAB_QKV_ROPE");
    unsetenv("CTXLAB_RMS_NORM");
    return out;
  };
  const auto fused = pass(true), plain = pass(false);
  ASSERT_EQ(fused.size(), plain.size());
  for (const auto& [name, t] : plain) {
    ASSERT_TRUE(fused.count(name)) << name;
    const double scale = t.abs().max().item<double>() + 1e-12;
    EXPECT_LT(max_diff(fused.at(name), t) / scale, 1e-4) << name;
  }
}
