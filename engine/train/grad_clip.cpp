// clip_grad_norm_on_device; see grad_clip.h.
#include "train/grad_clip.h"

#include <ATen/ops/_foreach_norm.h>
#include <torch/torch.h>

namespace ctx {

torch::Tensor clip_grad_norm_on_device(const std::vector<torch::Tensor>& params, double max_norm) {
  torch::NoGradGuard ng;
  std::vector<torch::Tensor> grads;
  for (const auto& p : params)
    if (p.grad().defined()) grads.push_back(p.grad());
  if (grads.empty()) return {};
  auto norms = at::_foreach_norm(grads, 2);
  for (auto& n : norms) n = n.to(torch::kFloat);
  auto total = torch::stack(norms).norm();
  auto coef = (max_norm / (total + 1e-6)).clamp_max(1.0);
  for (auto& g : grads) g.mul_(coef.to(g.scalar_type()));
  return total;
}

}  // namespace ctx
