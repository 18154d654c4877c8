// The fused step: per group, the parameters with gradients, their moment tensors (created as
// torch::optim::AdamW creates them) and step counts, handed to one kernel launch per group.
#include "train/fused_adamw.h"

#include <torch/version.h>

#if TORCH_VERSION_MAJOR >= 2
#include <ATen/ops/_fused_adamw.h>
#endif

#include "train/optimizer_state_key.h"

namespace ctx {

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

void FusedAdamW::step() {
#if TORCH_VERSION_MAJOR >= 2
  torch::NoGradGuard ng;
  auto& state = opt_.state();
  for (auto& group : opt_.param_groups()) {
    auto& o = static_cast<torch::optim::AdamWOptions&>(group.options());
    std::vector<torch::Tensor> params, grads, m, v, steps;
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      const auto key = optimizer_state_key(p);
      auto it = state.find(key);
      if (it == state.end()) {
        auto s = std::make_unique<torch::optim::AdamWParamState>();
        s->step(0);
        s->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        s->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        it = state.emplace(key, std::move(s)).first;
      }
      auto& s = static_cast<torch::optim::AdamWParamState&>(*it->second);
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
