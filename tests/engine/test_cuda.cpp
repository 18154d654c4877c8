// CUDA: the same model gives the same logits on the GPU as on the CPU, and a training step runs
// there (bf16-free, fp32). Skipped where LibTorch has no CUDA device.
#include <gtest/gtest.h>

#include <filesystem>

#include <torch/cuda.h>
#include <torch/optim/adamw.h>

#include "model/language_model.h"
#include "train/checkpoint.h"
#include "config/run_config.h"

TEST(Cuda, ForwardMatchesCpuAndTrainingStepRuns) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  auto cfg = ctx::parse_run_config({{"model", {{"layers", 2}, {"d_model", 64}, {"heads", 4}}},
                                    {"rope_scaling", {{"rope_type", "linear"}, {"factor", 2}}}});
  torch::manual_seed(5);
  auto cpu = ctx::make_language_model(cfg.model, cfg.rope_scaling, 259);
  auto gpu = ctx::make_language_model(cfg.model, cfg.rope_scaling, 259);
  {
    torch::NoGradGuard ng;
    auto src = cpu->parameters();
    auto dst = gpu->parameters();
    for (size_t i = 0; i < src.size(); ++i) dst[i].copy_(src[i]);
  }
  gpu->to(torch::kCUDA);
  auto x = torch::randint(0, 256, {2, 64}, torch::kLong);
  auto p = torch::arange(64, torch::kFloat).unsqueeze(0).expand({2, 64}).contiguous();
  torch::NoGradGuard ng;
  auto a = cpu->forward(x, p);
  auto b = gpu->forward(x.cuda(), p.cuda()).cpu();
  EXPECT_TRUE(torch::allclose(a, b, 1e-3, 1e-3)) << (a - b).abs().max().item<float>();
}

TEST(Cuda, LossDecreasesOnTheGpu) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  auto cfg = ctx::parse_run_config({{"model", {{"layers", 1}, {"d_model", 32}, {"heads", 2}}}});
  torch::manual_seed(6);
  auto m = ctx::make_language_model(cfg.model, nullptr, 259);
  m->to(torch::kCUDA);
  torch::optim::AdamW opt(m->parameters(), torch::optim::AdamWOptions(3e-3));
  auto x = torch::randint(0, 16, {4, 33}, torch::kLong).cuda();
  auto p = torch::arange(32, torch::kFloat).unsqueeze(0).expand({4, 32}).contiguous().cuda();
  double first = 0, last = 0;
  for (int i = 0; i < 60; ++i) {
    opt.zero_grad();
    auto loss = m->loss(x.narrow(1, 0, 32), p, x.narrow(1, 1, 32));
    loss.backward();
    opt.step();
    (i == 0 ? first : last) = loss.item<double>();
  }
  EXPECT_LT(last, first - 1.0);
}

TEST(Cuda, CheckpointWrittenOnTheGpuLoadsOnTheCpu) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  auto cfg = ctx::parse_run_config({{"model", {{"layers", 1}, {"d_model", 32}, {"heads", 2}, {"max_positions", 32},
                                               {"position", "learned"}}}});
  torch::manual_seed(7);
  auto gpu = ctx::make_language_model(cfg.model, nullptr, 259);
  gpu->to(torch::kCUDA);
  auto dir = std::filesystem::path(CTXLAB_TEST_TMP) / "cuda";
  std::filesystem::create_directories(dir);
  auto path = (dir / "gpu.pt").string();
  ctx::save_checkpoint(path, gpu, nullptr, 3, "{}");
  auto cpu = ctx::make_language_model(cfg.model, nullptr, 259);
  ctx::load_checkpoint(path, cpu);
  torch::NoGradGuard ng;
  auto x = torch::randint(0, 256, {1, 16}, torch::kLong);
  auto p = torch::arange(16, torch::kFloat).unsqueeze(0);
  EXPECT_TRUE(torch::allclose(cpu->forward(x, p), gpu->forward(x.cuda(), p.cuda()).cpu(), 1e-4, 1e-4));
  // And into a longer table, which is stretched on the way (segmented training on a GPU base).
  auto big = cfg.model;
  big.max_positions = 128;
  auto wide = ctx::make_language_model(big, nullptr, 259);
  EXPECT_NO_THROW(ctx::load_checkpoint(path, wide, nullptr, true));
}
