// GPU-only checks of the speed work (skipped without CUDA): bf16 logits track fp32 ones; the flash
// kernel of SDPA (flash or cuDNN flash) is what causal bf16 attention without a bias gets; a 32k-token evaluation of a
// small llama stays within a memory bound (no T x T and no [T, V] fp32 beyond the budget); the
// fused AdamW step equals the optimizer's own.
#include <gtest/gtest.h>
#include <torch/cuda.h>
#include <torch/torch.h>
#include <torch/version.h>

#if __has_include(<c10/cuda/CUDACachingAllocator.h>) && __has_include(<cuda_runtime_api.h>)
#include <c10/cuda/CUDACachingAllocator.h>
#define CTXLAB_CUDA_MEMORY_STATS 1
#endif
#if TORCH_VERSION_MAJOR >= 2
#include <ATen/ops/_fused_sdp_choice.h>
#endif

#include "config/run_config.h"
#include "model/language_model.h"
#include "train/fused_adamw.h"
#include "train/precision.h"

using namespace ctx;

namespace {

ModelConfig small_llama(int64_t max_positions = 256) {
  auto c = parse_run_config({{"model",
                              {{"arch", "llama"},
                               {"layers", 2},
                               {"d_model", 128},
                               {"heads", 4},
                               {"kv_heads", 2},
                               {"ffn_hidden", 256},
                               {"max_positions", max_positions}}}});
  return c.model;
}

}  // namespace

TEST(CudaSpeed, Bf16LogitsTrackFp32) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  torch::manual_seed(2);
  auto m = make_language_model(small_llama(), nullptr, 259);
  m->to(torch::kCUDA);
  m->eval();
  auto x = torch::randint(0, 259, {2, 256}, torch::kLong).cuda();
  auto p = torch::arange(256, torch::kFloat).unsqueeze(0).expand({2, 256}).contiguous().cuda();
  torch::NoGradGuard ng;
  auto fp32 = m->forward(x, p).to(torch::kFloat);
  torch::Tensor bf16;
  {
    PrecisionScope scope("bf16", torch::kCUDA);
    bf16 = m->forward(x, p).to(torch::kFloat);
  }
  const double rel = ((bf16 - fp32).norm() / fp32.norm()).item<double>();
  EXPECT_LT(rel, 2e-2);  // bf16 operands land between 1e-3 and 1e-2
  EXPECT_GT(rel, 0.0);   // ... and autocast really ran in bf16
}

TEST(CudaSpeed, CausalBf16AttentionGetsTheFlashKernel) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
#if TORCH_VERSION_MAJOR >= 2
  auto opts = torch::TensorOptions().dtype(torch::kBFloat16).device(torch::kCUDA);
  auto q = torch::randn({2, 8, 1024, 64}, opts), k = torch::randn({2, 8, 1024, 64}, opts),
       v = torch::randn({2, 8, 1024, 64}, opts);
  // What model/attention.cpp's attend() passes for a scheme without a bias: no mask, causal.
  // SDPBackend: 0 math (materialises T x T), 1 flash, 2 memory-efficient, 3 cuDNN. On Hopper
  // LibTorch 2.11 picks cuDNN's flash attention (3); both 1 and 3 are IO-aware flash kernels.
  const int64_t choice = at::_fused_sdp_choice(q, k, v, {}, 0.0, true);
  EXPECT_TRUE(choice == 1 || choice == 3) << "SDPA chose backend " << choice << ", not a flash kernel";
#else
  GTEST_SKIP() << "LibTorch 1.x has no public SDPA backend choice";
#endif
}

TEST(CudaSpeed, EvaluationAt32kStaysWithinAMemoryBound) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
#ifdef CTXLAB_CUDA_MEMORY_STATS
  const int64_t T = 32768;
  torch::manual_seed(3);
  auto m = make_language_model(small_llama(T), nullptr, 259);
  m->to(torch::kCUDA);
  m->eval();
  auto x = torch::randint(0, 259, {1, T + 1}, torch::kLong).cuda();
  auto p = torch::arange(T, torch::kFloat).unsqueeze(0).cuda();
  c10::cuda::CUDACachingAllocator::resetPeakStats(0);
  torch::NoGradGuard ng;
  PrecisionScope scope("bf16", torch::kCUDA);
  auto losses = m->token_losses(x.narrow(1, 0, T), p, x.narrow(1, 1, T));
  EXPECT_TRUE(torch::isfinite(losses).all().item<bool>());
  const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(0);
  const double peak = static_cast<double>(
      stats.allocated_bytes[static_cast<size_t>(c10::CachingAllocator::StatType::AGGREGATE)].peak);
  // A T x T score matrix in fp32 for one head alone would be 4 GiB; the activations of this model
  // at 32k are tens of MiB.
  EXPECT_LT(peak, 512.0 * 1024 * 1024) << peak / 1048576 << " MiB";
#else
  GTEST_SKIP() << "no CUDA memory statistics in this LibTorch";
#endif
}

TEST(CudaSpeed, FusedAdamWEqualsTheOptimizersStep) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  torch::manual_seed(4);
  auto a = torch::randn({64, 32}, torch::kCUDA).requires_grad_(true);
  auto b = a.detach().clone().requires_grad_(true);
  torch::optim::AdamW oa({a}, torch::optim::AdamWOptions(1e-2).weight_decay(0.1));
  torch::optim::AdamW ob({b}, torch::optim::AdamWOptions(1e-2).weight_decay(0.1));
  if (!FusedAdamW::available(ob)) GTEST_SKIP() << "no fused AdamW in this LibTorch";
  FusedAdamW fb(ob);
  for (int i = 0; i < 5; ++i) {
    auto g = torch::randn({64, 32}, torch::kCUDA);
    a.mutable_grad() = g.clone();
    b.mutable_grad() = g.clone();
    oa.step();
    fb.step();
  }
  EXPECT_LT((a - b).abs().max().item<double>(), 1e-5);
}
