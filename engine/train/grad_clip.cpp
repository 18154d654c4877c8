// clip_grad_norm_on_device; see grad_clip.h.
#include "train/grad_clip.h"

#include <ATen/ops/_foreach_norm.h>
#include <torch/torch.h>

namespace ctx {

ClipFactor clip_factor_on_device(const std::vector<torch::Tensor>& params, double max_norm) {
  torch::NoGradGuard ng;
  // [0] fp32, [1] other (bf16): _foreach_norm takes one dtype per call.
  std::vector<torch::Tensor> grads[2];
  for (const auto& p : params)
    if (p.grad().defined())
      grads[p.grad().scalar_type() == torch::kFloat ? 0 : 1].push_back(p.grad());
  std::vector<torch::Tensor> norms;
  for (auto& list : grads) {
    if (list.empty()) continue;
    // bf16 lists: the per-tensor norm is rounded to bf16 once (accumulated in fp32 inside).
    for (auto& n : at::_foreach_norm(list, 2)) norms.push_back(n.to(torch::kFloat));
  }
  if (norms.empty()) return {};
  auto total = torch::stack(norms).norm();
  auto coef = (max_norm / (total + 1e-6)).clamp_max(1.0);
  return {total, coef};
}

torch::Tensor clip_grad_norm_on_device(const std::vector<torch::Tensor>& params, double max_norm) {
  auto f = clip_factor_on_device(params, max_norm);
  if (!f.norm.defined()) return {};
  torch::NoGradGuard ng;
  for (const auto& p : params)
    if (p.grad().defined()) p.grad().mul_(f.coef.to(p.grad().scalar_type()));
  return f.norm;
}

}  // namespace ctx
