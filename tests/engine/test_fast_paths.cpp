// The speed work's fast paths against their readable references: stacked q/k/v and gate/up
// projections against one product per layer (logits and every gradient), gradient clipping on the
// device against torch::nn::utils::clip_grad_norm_, bf16 weights with fp32 master copies (what is
// swapped in, what the optimizer sees, fp32 gradient sums over micro-batches, and the masters back
// after a stop), and on CUDA ATen's fused
// RMSNorm against the reference formula and a bf16-weights training run against autocast; grouped
// key/value heads against repeated ones; checkpointed attention replayed from the attention tape;
// the fused cross-entropy kernel against ATen's chunks and an fp32 reference.
#include <gtest/gtest.h>
#include <torch/cuda.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/torch.h>

#include "config/run_config.h"
#include "model/attention.h"
#include "model/chunked_loss.h"
#include "model/fused_ops.h"
#include "model/language_model.h"
#include "model/llama.h"
#include "model/lora.h"
#include "model/rope.h"
#include "model/saved_attention.h"
#include "train/bf16_weights.h"
#include "train/fused_adamw.h"
#include "train/grad_clip.h"
#include "train/optimizer_state_key.h"
#include "train/precision.h"

using namespace ctx;

namespace {

ModelConfig llama(bool qkv_bias, int64_t kv_heads = 2) {
  auto c = parse_run_config({{"model",
                              {{"arch", "llama"},
                               {"layers", 2},
                               {"d_model", 64},
                               {"heads", 4},
                               {"kv_heads", kv_heads},
                               {"ffn_hidden", 96},
                               {"qkv_bias", qkv_bias},
                               {"max_positions", 64}}}});
  return c.model;
}

struct Pass {
  torch::Tensor loss;
  std::map<std::string, torch::Tensor> grads;
};

Pass forward_backward(LanguageModel& m, bool fused) {
  set_fuse_projections(fused);
  torch::manual_seed(5);
  auto x = torch::randint(0, 97, {2, 48}, torch::kLong);
  auto y = torch::randint(0, 97, {2, 48}, torch::kLong);
  auto p = torch::arange(48, torch::kFloat).unsqueeze(0).expand({2, 48}).contiguous();
  m->zero_grad();
  Pass out;
  out.loss = m->loss(x, p, y);
  out.loss.backward();
  for (const auto& kv : m->named_parameters())
    if (kv.value().grad().defined()) out.grads[kv.key()] = kv.value().grad().clone();
  set_fuse_projections(true);
  return out;
}

void expect_same_pass(LanguageModel& m) {
  const auto fused = forward_backward(m, true), plain = forward_backward(m, false);
  EXPECT_NEAR(fused.loss.item<double>(), plain.loss.item<double>(), 1e-6);
  ASSERT_EQ(fused.grads.size(), plain.grads.size());
  for (const auto& [name, g] : plain.grads) {
    ASSERT_TRUE(fused.grads.count(name)) << name;
    EXPECT_TRUE(torch::allclose(fused.grads.at(name), g, 1e-5, 1e-6)) << name;
  }
}

}  // namespace

TEST(FastPaths, StackedProjectionsEqualOneProductPerLayer) {
  for (bool bias : {false, true}) {
    torch::manual_seed(1);
    auto m = make_language_model(llama(bias), nullptr, 97);
    if (bias)  // the biases start at zero: make them matter
      for (auto& kv : m->named_parameters())
        if (kv.key().find("bias") != std::string::npos) kv.value().data().normal_(0, 0.5);
    expect_same_pass(m);
  }
}

TEST(FastPaths, StackedProjectionsLeaveLoraLayersAlone) {
  torch::manual_seed(1);
  auto m = make_language_model(llama(false), nullptr, 97);
  LoraConfig l;
  l.enabled = true;
  l.rank = 4;
  l.alpha = 8;
  l.targets = {"q_proj", "v_proj"};
  apply_lora(*m, l);
  for (auto& kv : m->named_parameters())  // B starts at zero: give the adapters an effect
    if (kv.key().find("lora_B") != std::string::npos) kv.value().data().normal_(0, 0.1);
  expect_same_pass(m);
}

TEST(FastPaths, RotaryNodeEqualsTheReferenceRotationAndItsGradient) {
  torch::manual_seed(9);
  // x as the model has it: [B, T, H, Dh] seen as [B, H, T, Dh]; fractional angles.
  auto base = torch::randn({2, 40, 3, 16}, torch::kDouble);
  auto ids = torch::rand({2, 40}, torch::kDouble) * 500;
  auto inv = torch::pow(10000.0, -torch::arange(0, 16, 2, torch::kDouble) / 16.0);
  auto ang = ids.unsqueeze(-1) * inv;
  auto cos = ang.cos().unsqueeze(1), sin = ang.sin().unsqueeze(1);
  for (auto pairing : {RopePairing::Half, RopePairing::Interleaved}) {
    auto x1 = base.clone().set_requires_grad(true), x2 = base.clone().set_requires_grad(true);
    auto fast = apply_rope_fast(x1.transpose(1, 2), cos, sin, pairing);
    auto ref = apply_rope(x2.transpose(1, 2), cos, sin, pairing);
    EXPECT_TRUE(torch::allclose(fast, ref, 1e-12, 1e-12));
    if (pairing == RopePairing::Half) {  // the node keeps the input's layout
      EXPECT_EQ(fast.strides(), x1.transpose(1, 2).strides());
    }
    auto g = torch::randn_like(ref);
    (fast * g).sum().backward();
    (ref * g).sum().backward();
    EXPECT_TRUE(torch::allclose(x1.grad(), x2.grad(), 1e-12, 1e-12));
  }
  // The rotation keeps norms: a defect in either sign would not.
  auto r = apply_rope_fast(base.transpose(1, 2), cos, sin, RopePairing::Half);
  EXPECT_TRUE(torch::allclose(r.norm(2, -1), base.transpose(1, 2).norm(2, -1), 1e-12, 1e-12));
}

TEST(FastPaths, DeviceClippingEqualsTorchClipGradNorm) {
  for (double max_norm : {0.05, 1e6}) {  // clipped, and left alone
    torch::manual_seed(3);
    std::vector<torch::Tensor> a, b;
    for (int64_t n : {7, 31, 128}) {
      auto p = torch::randn({n}, torch::requires_grad());
      p.mutable_grad() = torch::randn({n});
      auto q = p.detach().clone().set_requires_grad(true);
      q.mutable_grad() = p.grad().clone();
      a.push_back(p);
      b.push_back(q);
    }
    const double expected = torch::nn::utils::clip_grad_norm_(a, max_norm);
    const auto got = clip_grad_norm_on_device(b, max_norm);
    EXPECT_NEAR(got.item<double>(), expected, 1e-5 * expected);
    for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::allclose(a[i].grad(), b[i].grad(), 1e-5, 1e-7));
  }
}

TEST(FastPaths, Bf16WeightsSwapInCopiesAndBringBackMastersWithFp32GradientSums) {
  torch::manual_seed(4);
  auto m = make_language_model(llama(false), nullptr, 97);
  auto params = m->named_parameters();
  params["model.norm.weight"].set_requires_grad(false);  // a frozen one
  std::map<std::string, torch::Tensor> before;
  std::map<std::string, const void*> impl;
  for (const auto& kv : params) {
    before[kv.key()] = kv.value().detach().clone();
    impl[kv.key()] = kv.value().unsafeGetTensorImpl();
  }
  Bf16Weights w(*m);
  w.to_bf16();
  for (const auto& kv : params) {
    EXPECT_EQ(kv.value().scalar_type(), torch::kBFloat16) << kv.key();
    EXPECT_TRUE(torch::equal(kv.value(), before.at(kv.key()).to(torch::kBFloat16))) << kv.key();
    EXPECT_EQ(kv.value().unsafeGetTensorImpl(), impl.at(kv.key())) << "the optimizer's tensor stays";
  }
  // Two micro-batches whose gradient is known: d/dp sum(p * c) = c, in bf16 each time.
  for (int micro = 0; micro < 2; ++micro) {
    torch::Tensor loss = torch::zeros({}, torch::kFloat);
    for (const auto& kv : params)
      if (kv.value().requires_grad()) loss = loss + (kv.value().to(torch::kFloat) * 0.1).sum();
    loss.backward();
    w.collect_gradients();
    for (const auto& kv : params) EXPECT_FALSE(kv.value().grad().defined()) << "collected and cleared";
  }
  w.to_fp32();
  // The persistent copies, found by the fp32 parameter (the optimizer's kernel refreshes them);
  // none for a frozen parameter or a tensor outside the model.
  for (const auto& kv : params) {
    const auto copy = w.bf16_copy(kv.value());
    if (!kv.value().requires_grad()) {
      EXPECT_FALSE(copy.defined()) << kv.key();
      continue;
    }
    ASSERT_TRUE(copy.defined()) << kv.key();
    EXPECT_TRUE(torch::equal(copy, before.at(kv.key()).to(torch::kBFloat16))) << kv.key();
  }
  EXPECT_FALSE(w.bf16_copy(torch::zeros({3})).defined());
  for (const auto& kv : params) {
    EXPECT_EQ(kv.value().scalar_type(), torch::kFloat) << kv.key();
    EXPECT_TRUE(torch::equal(kv.value(), before.at(kv.key()))) << "the exact fp32 values: " << kv.key();
    if (!kv.value().requires_grad()) {
      EXPECT_FALSE(kv.value().grad().defined()) << kv.key();
      continue;
    }
    ASSERT_TRUE(kv.value().grad().defined()) << kv.key();
    EXPECT_EQ(kv.value().grad().scalar_type(), torch::kFloat);
    const float expected = 2 * static_cast<float>(c10::BFloat16(0.1f));  // two bf16 gradients, summed
    EXPECT_TRUE(torch::allclose(kv.value().grad(), torch::full_like(kv.value(), expected), 0, 1e-7)) << kv.key();
  }
  // A stop request half-way through the passes leaves the fp32 masters in place.
  try {
    Bf16Weights::Scope passes(&w);
    throw std::runtime_error("stop");
  } catch (const std::runtime_error&) {
  }
  for (const auto& kv : params) EXPECT_EQ(kv.value().scalar_type(), torch::kFloat) << kv.key();
}

TEST(FastPaths, CudaRopeKernelEqualsTheFormulaBothWays) {
  if (!torch::cuda::is_available() || !cuda_kernels_built()) GTEST_SKIP() << "no CUDA device or no CUDA kernels";
  torch::manual_seed(10);
  const int64_t B = 2, T = 70, H = 3, Dh = 32;
  auto ang = (torch::rand({B, T, 1}, torch::kDouble) * 3000) * torch::pow(10000.0, -torch::arange(0, Dh, 2, torch::kDouble) / Dh);
  auto cos64 = ang.cos().unsqueeze(1), sin64 = ang.sin().unsqueeze(1);
  auto cos = cos64.to(torch::kCUDA, torch::kFloat), sin = sin64.to(torch::kCUDA, torch::kFloat);
  for (auto dtype : {torch::kFloat, torch::kBFloat16}) {
    // q as the model has it: a split view of a wider [B, T, 3·H·Dh] product, seen as [B, H, T, Dh].
    auto wide = torch::randn({B, T, 3 * H * Dh}, torch::TensorOptions().dtype(dtype).device(torch::kCUDA));
    auto x = wide.narrow(-1, H * Dh, H * Dh).view({B, T, H, Dh}).transpose(1, 2).detach().requires_grad_(true);
    auto y = rope_half_kernel(x, cos, sin);
    ASSERT_TRUE(y.defined());
    auto x64 = x.detach().to(torch::kCPU, torch::kDouble).requires_grad_(true);
    auto ref = apply_rope(x64, cos64, sin64, RopePairing::Half);
    const double tol = dtype == torch::kFloat ? 1e-5 : 1e-2;
    EXPECT_LT((y.to(torch::kCPU, torch::kDouble) - ref).abs().max().item<double>(), tol * 4);
    auto g = torch::randn({B, H, T, Dh}, torch::kDouble);
    (y * g.to(torch::kCUDA, dtype)).sum().backward();
    (ref * g).sum().backward();
    EXPECT_LT((x.grad().to(torch::kCPU, torch::kDouble) - x64.grad()).abs().max().item<double>(), tol * 4);
  }
}

TEST(FastPaths, CudaSwigluKernelEqualsTheFormulaBothWays) {
  if (!torch::cuda::is_available() || !cuda_kernels_built()) GTEST_SKIP() << "no CUDA device or no CUDA kernels";
  torch::manual_seed(11);
  for (auto dtype : {torch::kFloat, torch::kBFloat16}) {
    auto gu = (torch::randn({3, 50, 2 * 96}, torch::kCUDA) * 3).to(dtype).requires_grad_(true);
    auto y = swiglu(gu);
    auto gu64 = gu.detach().to(torch::kCPU, torch::kDouble).requires_grad_(true);
    auto ref = swiglu_reference(gu64);
    const double tol = dtype == torch::kFloat ? 1e-5 : 2e-2;
    EXPECT_LT(((y.to(torch::kCPU, torch::kDouble) - ref).abs() / (ref.abs() + 1)).max().item<double>(), tol);
    auto g = torch::randn_like(ref);
    (y * g.to(torch::kCUDA, dtype)).sum().backward();
    (ref * g).sum().backward();
    EXPECT_LT(((gu.grad().to(torch::kCPU, torch::kDouble) - gu64.grad()).abs() / (gu64.grad().abs() + 1)).max().item<double>(),
              tol);
  }
}

TEST(FastPaths, FusedRmsNormOnCudaEqualsTheReference) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  torch::manual_seed(6);
  RMSNorm norm(256, 1e-5);
  norm->to(torch::kCUDA);
  norm->weight.data().normal_(1, 0.2);
  auto x = torch::randn({4, 100, 256}, torch::kCUDA).mul_(3).set_requires_grad(true);
  auto fused = norm(x);
  auto ref = rms_norm_reference(x, norm->weight, 1e-5);
  EXPECT_TRUE(torch::allclose(fused, ref, 1e-5, 1e-5));
  auto g = torch::randn_like(fused);
  auto gx_f = torch::autograd::grad({fused}, {x, norm->weight}, {g});
  auto gx_r = torch::autograd::grad({ref}, {x, norm->weight}, {g});
  EXPECT_TRUE(torch::allclose(gx_f[0], gx_r[0], 1e-4, 1e-5));
  EXPECT_TRUE(torch::allclose(gx_f[1], gx_r[1], 1e-3, 1e-3));
  // bf16: the fused kernel rounds once, the reference twice; they agree within bf16's step.
  auto xb = x.detach().to(torch::kBFloat16);
  auto wb = norm->weight.detach().to(torch::kBFloat16);
  RMSNorm nb(256, 1e-5);
  nb->to(torch::kCUDA, torch::kBFloat16);
  nb->weight.data().copy_(wb);
  const double rel = ((nb(xb).to(torch::kFloat) - rms_norm_reference(xb, wb, 1e-5).to(torch::kFloat)).norm() /
                      rms_norm_reference(xb, wb, 1e-5).to(torch::kFloat).norm())
                         .item<double>();
  EXPECT_LT(rel, 8e-3);
}

TEST(FastPaths, Bf16WeightsTrainLikeAutocast) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  auto run = [](const std::string& precision) {
    torch::manual_seed(7);
    auto m = make_language_model(llama(false), nullptr, 97);
    m->to(torch::kCUDA);
    std::unique_ptr<Bf16Weights> bw;
    if (precision == "bf16-weights") bw = std::make_unique<Bf16Weights>(*m);
    std::vector<torch::Tensor> params = m->parameters();
    torch::optim::AdamW opt(params, torch::optim::AdamWOptions(3e-3));
    torch::manual_seed(8);
    auto x = torch::randint(0, 97, {4, 64}, torch::kLong).cuda();
    auto p = torch::arange(64, torch::kFloat).unsqueeze(0).expand({4, 64}).contiguous().cuda();
    double loss = 0;
    for (int step = 0; step < 60; ++step) {
      opt.zero_grad();
      torch::Tensor l;
      {
        Bf16Weights::Scope passes(bw.get());
        {
          PrecisionScope scope(precision, torch::kCUDA);
          l = m->loss(x, p, x.roll(1, 1));
        }
        l.backward();
      }
      clip_grad_norm_on_device(params, 1.0);
      opt.step();
      loss = l.item<double>();
    }
    return loss;
  };
  const double autocast = run("bf16"), weights = run("bf16-weights");
  EXPECT_LT(autocast, 3.0);  // it learned (log 97 = 4.57 at the start)
  EXPECT_NEAR(weights, autocast, 0.1 * autocast);
}

// Grouped-query attention: attend() given fewer key/value heads equals attend() given them
// repeated for their query groups (HF's repeat_kv), in output and gradients: causal, with a bias
// and with more keys than queries. On the CPU the heads are repeated inside attend(); on CUDA in
// bf16 SDPA shares them (enable_gqa).
TEST(FastPaths, GroupedKeyValueHeadsEqualRepeatedHeads) {
  std::vector<torch::Device> devices{torch::kCPU};
  if (torch::cuda::is_available()) devices.push_back(torch::kCUDA);
  for (const auto& dev : devices) {
    const auto dt = dev.is_cuda() ? torch::kBFloat16 : torch::kFloat;
    const double tol = dev.is_cuda() ? 2e-2 : 1e-5;
    torch::manual_seed(9);
    auto opts = torch::TensorOptions().device(dev).dtype(dt);
    for (const bool with_bias : {false, true}) {
      for (const int64_t tk : {40, 56}) {
        auto q = torch::randn({2, 8, 40, 32}, opts).requires_grad_(true);
        auto k = torch::randn({2, 2, tk, 32}, opts).requires_grad_(true);
        auto v = torch::randn({2, 2, tk, 32}, opts).requires_grad_(true);
        auto bias = with_bias ? torch::randn({1, 8, 40, tk}, opts) : torch::Tensor();
        auto shared = attend(q, k, v, bias, true);
        auto repeated = attend(q, k.repeat_interleave(4, 1), v.repeat_interleave(4, 1), bias, true);
        const std::string what = std::string(dev.is_cuda() ? "cuda" : "cpu") +
                                 (with_bias ? " bias" : "") + " tk " + std::to_string(tk);
        EXPECT_TRUE(torch::allclose(shared.to(torch::kFloat), repeated.to(torch::kFloat), tol, tol))
            << what;
        auto g = torch::randn_like(shared);
        auto gs = torch::autograd::grad({shared}, {q, k, v}, {g});
        auto gr = torch::autograd::grad({repeated}, {q, k, v}, {g});
        for (int i = 0; i < 3; ++i)
          EXPECT_TRUE(
              torch::allclose(gs[i].to(torch::kFloat), gr[i].to(torch::kFloat), 3 * tol, 3 * tol))
              << what << " gradient " << i;
      }
    }
  }
}

// The attention tape (model/saved_attention.h): with checkpointing in bf16 on CUDA, every layer's
// attention is recorded in the first forward and replayed (not recomputed) in the backward pass,
// through each kernel, and the gradients equal those of plain backward within bf16's step.
TEST(FastPaths, CheckpointedAttentionIsReplayedWithThePlainGradients) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  for (const char* kernel : {"cudnn", "flash"}) {
    for (const int64_t kv_heads : {4, 2}) {
      setenv("CTXLAB_TAPE_KERNEL", kernel, 1);
      auto c = parse_run_config({{"model",
                                  {{"arch", "llama"},
                                   {"layers", 3},
                                   {"d_model", 256},
                                   {"heads", 4},
                                   {"kv_heads", kv_heads},
                                   {"ffn_hidden", 384},
                                   {"max_positions", 512}}}})
                   .model;
      torch::manual_seed(10);
      auto m = make_language_model(c, nullptr, 97);
      m->to(torch::kCUDA, torch::kBFloat16);
      m->train();
      auto x = torch::randint(0, 97, {2, 256}, torch::kLong).cuda();
      auto p = torch::arange(256, torch::kFloat).unsqueeze(0).expand({2, 256}).contiguous().cuda();
      auto grads = [&](bool checkpointing) {
        m->set_checkpointing(checkpointing);
        m->zero_grad();
        m->loss(x, p, x.roll(1, 1)).backward();
        std::map<std::string, torch::Tensor> g;
        for (const auto& kv : m->named_parameters())
          g[kv.key()] = kv.value().grad().to(torch::kFloat).clone();
        return g;
      };
      const auto plain = grads(false);
      const auto before = attention_tape_counts();
      const auto taped = grads(true);
      const auto after = attention_tape_counts();
      const std::string what = std::string(kernel) + " kv_heads " + std::to_string(kv_heads);
      if (std::string(kernel) == "cudnn" && after.recorded == before.recorded) {
        // cuDNN's fused attention is absent from this LibTorch or refused this GPU: flash covers
        // it.
        std::cerr << "note: no cuDNN attention here (" << what << ")\n";
        continue;
      }
      EXPECT_EQ(after.recorded - before.recorded, 3) << what;
      EXPECT_EQ(after.replayed - before.replayed, 3) << what;
      for (const auto& [name, g] : plain) {
        const double rel = ((taped.at(name) - g).norm() / (g.norm() + 1e-12)).item<double>();
        EXPECT_LT(rel, 3e-2) << what << " " << name;
      }
    }
  }
  unsetenv("CTXLAB_TAPE_KERNEL");
}

// The master-weight AdamW kernel (train/cuda/master_adamw.h) against LibTorch's own AdamW step
// (torch::optim::AdamW, one op at a time) on the same gradients: bf16 gradients read directly and
// scaled by a clipping factor inside, two parameter groups with their own learning rates and weight
// decay, three steps. Masters and moments agree to fp32 rounding, and bf16-weights' copies hold
// bf16(master) after each step.
TEST(FastPaths, MasterWeightAdamwEqualsLibTorchAdamw) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  if (!FusedAdamW::master_kernel_built())
    GTEST_SKIP() << "CtxLab's CUDA kernels are not built here";
  auto make = [] {
    torch::manual_seed(12);
    auto m = make_language_model(llama(false), nullptr, 97);
    m->to(torch::kCUDA);
    return m;
  };
  auto ours = make(), ref = make();
  auto optimizer = [](LanguageModel& m) {
    std::vector<torch::Tensor> a, b;
    for (auto& kv : m->named_parameters())
      (kv.key().find("norm") != std::string::npos ? b : a).push_back(kv.value());
    std::vector<torch::optim::OptimizerParamGroup> g;
    g.emplace_back(a, std::make_unique<torch::optim::AdamWOptions>(
                          torch::optim::AdamWOptions(3e-3).weight_decay(0.1).betas({0.9, 0.95})));
    g.emplace_back(b, std::make_unique<torch::optim::AdamWOptions>(
                          torch::optim::AdamWOptions(1e-3).weight_decay(0.0).betas({0.9, 0.95})));
    return std::make_unique<torch::optim::AdamW>(g, torch::optim::AdamWOptions(3e-3));
  };
  auto opt_ours = optimizer(ours), opt_ref = optimizer(ref);
  Bf16Weights copies(*ours);
  FusedAdamW fused(*opt_ours, &copies);  // the copies' gradients stay bf16 for its kernel
  auto x = torch::randint(0, 97, {2, 48}, torch::kLong).cuda();
  auto pos = torch::arange(48, torch::kFloat).unsqueeze(0).expand({2, 48}).contiguous().cuda();
  const auto params_ours = ours->parameters(), params_ref = ref->parameters();
  for (int step = 0; step < 3; ++step) {
    opt_ours->zero_grad();
    {
      Bf16Weights::Scope passes(&copies);
      ours->loss(x, pos, x.roll(step + 1, 1)).backward();
    }
    const auto f = clip_factor_on_device(params_ours, 0.5);
    ASSERT_LT(f.coef.item<double>(), 1.0) << "the clipping factor takes part";
    for (size_t i = 0; i < params_ours.size(); ++i) {
      ASSERT_EQ(params_ours[i].grad().scalar_type(), torch::kBFloat16) << "the gradient stays bf16";
      params_ref[i].mutable_grad() = params_ours[i].grad().to(torch::kFloat) * f.coef;
    }
    fused.step(f.coef);
    opt_ref->step();
    for (size_t i = 0; i < params_ours.size(); ++i) {
      const auto& a = params_ours[i];
      const auto& b = params_ref[i];
      EXPECT_TRUE(torch::allclose(a, b, 1e-5, 1e-6))
          << "step " << step << " parameter " << i << ": " << (a - b).abs().max().item<double>();
      const auto key = optimizer_state_key(a);
      auto& sa = static_cast<torch::optim::AdamWParamState&>(*opt_ours->state().at(key));
      auto& sb =
          static_cast<torch::optim::AdamWParamState&>(*opt_ref->state().at(optimizer_state_key(b)));
      EXPECT_EQ(sa.step(), sb.step());
      EXPECT_TRUE(torch::allclose(sa.exp_avg(), sb.exp_avg(), 1e-5, 1e-9)) << "m, parameter " << i;
      EXPECT_TRUE(torch::allclose(sa.exp_avg_sq(), sb.exp_avg_sq(), 1e-5, 1e-12))
          << "v, parameter " << i;
      EXPECT_TRUE(torch::equal(copies.bf16_copy(a), a.to(torch::kBFloat16)))
          << "copy, parameter " << i;
    }
  }
}

// The chunked loss's fused CUDA kernel (model/cuda/cross_entropy.h) against the ATen sequence of
// the same chunks (CTXLAB_CE=aten) and against an independent fp32 reference (full logits, ATen's
// cross-entropy, autograd): loss, d hidden and d W, with row weights, over a partial last chunk,
// for a vocabulary the 16-byte path reads (1024) and one it reads a value at a time (1001).
TEST(FastPaths, FusedCrossEntropyKernelEqualsTheAtenChunksAndAnFp32Reference) {
  if (!torch::cuda::is_available() || !cuda_kernels_built())
    GTEST_SKIP() << "no CUDA device or no CUDA kernels";
  for (const int64_t V : {1024, 1001}) {
    torch::manual_seed(21);
    const int64_t N = 300, d = 64;
    auto opt = torch::TensorOptions().device(torch::kCUDA);
    auto h0 = (torch::randn({N, d}, opt) * 0.5).to(torch::kBFloat16);
    auto W0 = (torch::randn({V, d}, opt) * 0.3).to(torch::kBFloat16);
    auto t = torch::randint(0, V, {N}, opt.dtype(torch::kLong));
    auto w = (torch::rand({N}, opt) > 0.25).to(torch::kFloat);
    auto run = [&](const char* ce) {
      if (ce) setenv("CTXLAB_CE", ce, 1);
      auto h = h0.clone().requires_grad_(true), W = W0.clone().requires_grad_(true);
      auto loss = chunked_cross_entropy(h, W, t, w, 128);
      loss.backward();
      unsetenv("CTXLAB_CE");
      return std::make_tuple(loss.item<double>(), h.grad().to(torch::kFloat),
                             W.grad().to(torch::kFloat));
    };
    const auto before = fused_cross_entropy_chunks();
    const auto [lf, hf, wf] = run(nullptr);
    EXPECT_EQ(fused_cross_entropy_chunks() - before, 3) << V;  // 128 + 128 + 44 rows
    const auto [la, ha, wa] = run("aten");
    EXPECT_EQ(fused_cross_entropy_chunks() - before, 3) << V;
    // fp32 reference on the same (bf16-valued) inputs.
    auto h = h0.to(torch::kFloat).requires_grad_(true),
         W = W0.to(torch::kFloat).requires_grad_(true);
    auto per_row = torch::nn::functional::cross_entropy(
        torch::matmul(h, W.t()), t,
        torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
    auto ref = (per_row * w).sum() / w.sum();
    ref.backward();
    auto rel = [](const torch::Tensor& a, const torch::Tensor& b) {
      return ((a - b).norm() / (b.norm() + 1e-12)).item<double>();
    };
    EXPECT_NEAR(lf, ref.item<double>(), 2e-3 * ref.item<double>()) << V;
    EXPECT_NEAR(la, ref.item<double>(), 2e-3 * ref.item<double>()) << V;
    EXPECT_LT(rel(hf, h.grad()), 2e-2) << V;
    EXPECT_LT(rel(wf, W.grad()), 2e-2) << V;
    EXPECT_LT(rel(hf, ha), 2e-2) << V;
    EXPECT_LT(rel(wf, wa), 2e-2) << V;
  }
}
