// Shared by the position-scheme tests: a tiny model config for a scheme, contiguous (shifted) ids,
// and the check that the same weights give the same logits on CUDA as on the CPU (per-sample and
// fractional ids included) with a finite backward pass on the GPU.
#pragma once

#include <gtest/gtest.h>

#include <cmath>

#include <torch/cuda.h>

#include "model/language_model.h"
#include "config/run_config.h"

inline ctx::ModelConfig tiny(const nlohmann::json& position, int64_t heads = 2) {
  return ctx::parse_run_config({{"model", {{"layers", 2}, {"d_model", 32}, {"heads", heads}, {"max_positions", 64},
                                           {"position", position}}}})
      .model;
}

inline torch::Tensor ids(int64_t T, float shift = 0) {
  return (torch::arange(T, torch::kFloat) + shift).unsqueeze(0);
}

inline void expect_cuda_matches_cpu(const ctx::ModelConfig& cfg, const std::string& label) {
  torch::manual_seed(9);
  auto cpu = ctx::make_language_model(cfg, nullptr, 259);
  auto gpu = ctx::make_language_model(cfg, nullptr, 259);
  {
    torch::NoGradGuard ng;
    for (auto& t : cpu->position_scheme().parameters()) t.normal_();  // zero-initialised tables too
    auto src = cpu->parameters();
    auto dst = gpu->parameters();
    for (size_t i = 0; i < src.size(); ++i) dst[i].copy_(src[i]);
  }
  gpu->to(torch::kCUDA);
  auto x = torch::randint(0, 256, {2, 64}, torch::kLong);
  // Per-sample ids, one set fractional (and within a learned base's 64 rows).
  auto p = torch::stack({torch::arange(64, torch::kFloat), torch::arange(64, torch::kFloat) * 0.75f + 3.5f});
  {
    torch::NoGradGuard ng;
    auto a = cpu->forward(x, p);
    auto b = gpu->forward(x.cuda(), p.cuda()).cpu();
    EXPECT_TRUE(torch::allclose(a, b, 1e-3, 1e-3)) << label << " " << (a - b).abs().max().item<float>();
  }
  auto loss = gpu->loss(x.cuda(), p.cuda(), torch::roll(x, -1, 1).cuda());
  loss.backward();
  EXPECT_TRUE(std::isfinite(loss.item<float>())) << label;
}
