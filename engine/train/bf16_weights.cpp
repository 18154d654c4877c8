// Bf16Weights; see bf16_weights.h.
#include "train/bf16_weights.h"

#include <torch/torch.h>

namespace ctx {

Bf16Weights::Bf16Weights(torch::nn::Module& model) {
  for (auto& item : model.named_parameters()) {
    const auto& p = item.value();
    if (!p.is_floating_point() || p.scalar_type() != torch::kFloat || item.key().rfind("pos.clex.", 0) == 0)
      continue;
    slots_.push_back({p, torch::Tensor(), torch::Tensor()});
  }
}

void Bf16Weights::to_bf16() {
  if (bf16_) return;
  torch::NoGradGuard ng;
  for (auto& s : slots_) {
    s.master = s.param.data();
    s.grad = torch::Tensor();
    s.param.mutable_grad() = torch::Tensor();
    s.param.set_data(s.master.to(torch::kBFloat16));
  }
  bf16_ = true;
}

void Bf16Weights::collect_gradients() {
  torch::NoGradGuard ng;
  for (auto& s : slots_) {
    const auto& g = s.param.grad();
    if (!g.defined()) continue;
    if (s.grad.defined())
      s.grad.add_(g);
    else
      s.grad = g.to(torch::kFloat);
    s.param.mutable_grad() = torch::Tensor();
  }
}

void Bf16Weights::to_fp32() {
  if (!bf16_) return;
  collect_gradients();
  torch::NoGradGuard ng;
  for (auto& s : slots_) {
    s.param.set_data(s.master);
    s.param.mutable_grad() = s.grad;
    s.master = s.grad = torch::Tensor();
  }
  bf16_ = false;
}

Bf16Weights::Scope::Scope(Bf16Weights* w) : w_(w) {
  if (w_) w_->to_bf16();
}

Bf16Weights::Scope::~Scope() {
  if (!w_) return;
  try {
    w_->to_fp32();
  } catch (...) {  // a CUDA error already being reported: the masters are what is left
  }
}

}  // namespace ctx
