// The fused steps: per group, the parameters with gradients, their moment tensors (created as
// torch::optim::AdamW creates them) and step counts, handed to CtxLab's master-weight kernel (all
// groups in a few launches) or to ATen's (one launch per group).
#include "train/fused_adamw.h"

#include <torch/torch.h>
#include <torch/version.h>

#include <cmath>
#include <cstdlib>
#include <cstring>

#if TORCH_VERSION_MAJOR >= 2
#include <ATen/ops/_fused_adamw.h>
#endif
#ifdef CTXLAB_CUDA_KERNELS
#include <c10/cuda/CUDAStream.h>

#include "train/cuda/master_adamw.h"
#endif

#include "train/bf16_weights.h"
#include "train/optimizer_state_key.h"

namespace ctx {
namespace {

// The AdamW state of `p`, created as torch::optim::AdamW creates it on its first step.
[[maybe_unused]] torch::optim::AdamWParamState& state_of(torch::optim::AdamW& opt,
                                                         const torch::Tensor& p) {
  auto& state = opt.state();
  const auto key = optimizer_state_key(p);
  auto it = state.find(key);
  if (it == state.end()) {
    auto s = std::make_unique<torch::optim::AdamWParamState>();
    s->step(0);
    s->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
    s->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
    it = state.emplace(key, std::move(s)).first;
  }
  return static_cast<torch::optim::AdamWParamState&>(*it->second);
}

[[maybe_unused]] bool aten_forced() {
  static const bool forced = [] {
    const char* e = std::getenv("CTXLAB_ADAMW");
    return e && std::strcmp(e, "aten") == 0;
  }();
  return forced;
}

}  // namespace

FusedAdamW::FusedAdamW(torch::optim::AdamW& optimizer, Bf16Weights* copies)
    : opt_(optimizer), copies_(copies) {
  if (copies_ && master_kernel_built()) copies_->set_gradients_stay_bf16(true);
}

bool FusedAdamW::master_kernel_built() {
#ifdef CTXLAB_CUDA_KERNELS
  return !aten_forced();
#else
  return false;
#endif
}

bool FusedAdamW::available(torch::optim::AdamW& optimizer) {
#if TORCH_VERSION_MAJOR >= 2
  for (auto& g : optimizer.param_groups())
    for (auto& p : g.params())
      if (!p.is_cuda()) return false;
  return true;
#else
  (void)optimizer;
  return false;
#endif
}

void FusedAdamW::step(const torch::Tensor& grad_coef) {
  torch::NoGradGuard ng;
  if (master_step(grad_coef)) return;
  aten_step(grad_coef);
}

bool FusedAdamW::master_step(const torch::Tensor& grad_coef) {
#ifdef CTXLAB_CUDA_KERNELS
  if (!master_kernel_built()) return false;
  // Every parameter with a gradient: an fp32 CUDA master, a contiguous fp32 or bf16 gradient; one
  // set of betas and eps (one launch set), no amsgrad.
  const auto& o0 = static_cast<torch::optim::AdamWOptions&>(opt_.param_groups().at(0).options());
  for (auto& group : opt_.param_groups()) {
    auto& o = static_cast<torch::optim::AdamWOptions&>(group.options());
    if (o.amsgrad() || o.betas() != o0.betas() || o.eps() != o0.eps()) return false;
    for (auto& p : group.params()) {
      const auto& g = p.grad();
      if (!g.defined()) continue;
      if (!p.is_cuda() || p.scalar_type() != torch::kFloat || !p.is_contiguous() ||
          !g.is_contiguous() ||
          (g.scalar_type() != torch::kFloat && g.scalar_type() != torch::kBFloat16))
        return false;
    }
  }
  const double beta1 = std::get<0>(o0.betas()), beta2 = std::get<1>(o0.betas()), eps = o0.eps();
  std::vector<cuda::MasterAdamwEntry> by_dtype[2];
  for (auto& group : opt_.param_groups()) {
    auto& o = static_cast<torch::optim::AdamWOptions&>(group.options());
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      auto& s = state_of(opt_, p);
      s.step(s.step() + 1);
      const double t = static_cast<double>(s.step());
      cuda::MasterAdamwEntry e{};
      e.master = p.data_ptr<float>();
      e.grad = p.grad().data_ptr();
      e.exp_avg = s.exp_avg().data_ptr<float>();
      e.exp_avg_sq = s.exp_avg_sq().data_ptr<float>();
      const auto copy = copies_ ? copies_->bf16_copy(p) : torch::Tensor();
      e.copy = copy.defined() ? copy.data_ptr() : nullptr;
      e.n = p.numel();
      e.lr_wd = static_cast<float>(o.lr() * o.weight_decay());
      e.step_size = static_cast<float>(o.lr() / (1 - std::pow(beta1, t)));
      e.bc2_sqrt = static_cast<float>(std::sqrt(1 - std::pow(beta2, t)));
      by_dtype[p.grad().scalar_type() == torch::kBFloat16 ? 1 : 0].push_back(e);
    }
  }
  // Freed after the launches are queued: the allocator orders reuse on the stream.
  const auto coef =
      grad_coef.defined() ? grad_coef.to(torch::kFloat).contiguous() : torch::Tensor();
  void* stream = c10::cuda::getCurrentCUDAStream().stream();
  for (int dt = 0; dt < 2; ++dt)
    if (!by_dtype[dt].empty())
      cuda::master_adamw(by_dtype[dt].data(), static_cast<int>(by_dtype[dt].size()), dt,
                         static_cast<float>(beta1), static_cast<float>(beta2),
                         static_cast<float>(eps), coef.defined() ? coef.data_ptr<float>() : nullptr,
                         stream);
  if (copies_) copies_->copies_written();
  return true;
#else
  (void)grad_coef;
  return false;
#endif
}

void FusedAdamW::aten_step(const torch::Tensor& grad_coef) {
  // ATen's kernel and the plain step take gradients in the parameter's dtype, already scaled.
  std::vector<torch::Tensor> grads;
  for (auto& group : opt_.param_groups())
    for (auto& p : group.params()) {
      auto& g = p.mutable_grad();
      if (!g.defined()) continue;
      if (g.scalar_type() != p.scalar_type()) g = g.to(p.scalar_type());
      grads.push_back(g);
    }
  for (auto& g : grads)
    if (grad_coef.defined()) g.mul_(grad_coef.to(g.scalar_type()));
#if TORCH_VERSION_MAJOR >= 2
  if (!available(opt_)) {
    opt_.step();
    return;
  }
  for (auto& group : opt_.param_groups()) {
    auto& o = static_cast<torch::optim::AdamWOptions&>(group.options());
    std::vector<torch::Tensor> params, grads, m, v, steps;
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      auto& s = state_of(opt_, p);
      auto& t = steps_[p.unsafeGetTensorImpl()];
      // The count lives in the optimizer's state (saved with checkpoints); its device copy follows.
      if (!t.device.defined() || t.value != s.step())
        t.device = torch::full({}, static_cast<double>(s.step()), p.options().dtype(torch::kFloat));
      s.step(s.step() + 1);
      t.value = s.step();
      params.push_back(p);
      grads.push_back(p.grad());
      m.push_back(s.exp_avg());
      v.push_back(s.exp_avg_sq());
      steps.push_back(t.device);
    }
    if (params.empty()) continue;
    torch::_foreach_add_(steps, 1);
    at::_fused_adamw_(params, grads, m, v, {}, steps, o.lr(), std::get<0>(o.betas()),
                      std::get<1>(o.betas()), o.weight_decay(), o.eps(), o.amsgrad(), false);
  }
#else
  opt_.step();
#endif
}

}  // namespace ctx
