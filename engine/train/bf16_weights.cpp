// Bf16Weights; see bf16_weights.h.
#include "train/bf16_weights.h"

#include <torch/torch.h>

namespace ctx {

Bf16Weights::Bf16Weights(torch::nn::Module& model) {
  for (auto& item : model.named_parameters()) {
    const auto& p = item.value();
    if (!p.is_floating_point() || p.scalar_type() != torch::kFloat || item.key().rfind("pos.clex.", 0) == 0)
      continue;
    slot_of_[p.unsafeGetTensorImpl()] = slots_.size();
    slots_.push_back({p, {}, {}, {}});
  }
}

void Bf16Weights::to_bf16() {
  if (bf16_) return;
  torch::NoGradGuard ng;
  for (auto& s : slots_) {
    s.master = s.param.data();
    s.grad = torch::Tensor();
    s.param.mutable_grad() = torch::Tensor();
    // Frozen weights never change while training: cast once. Trainable ones follow their masters
    // unless the optimizer's kernel already wrote the copies.
    if (!s.copy.defined() || s.copy.sizes() != s.master.sizes())
      s.copy = s.master.to(torch::kBFloat16);
    else if (s.param.requires_grad() && !copies_fresh_)
      s.copy.copy_(s.master);
    s.param.set_data(s.copy);
  }
  copies_fresh_ = false;
  bf16_ = true;
}

void Bf16Weights::collect_gradients() {
  torch::NoGradGuard ng;
  for (auto& s : slots_) {
    const auto& g = s.param.grad();
    if (!g.defined()) continue;
    if (!s.grad.defined())
      s.grad = g;  // as it came (bf16); a second micro-batch makes it an fp32 sum
    else if (s.grad.scalar_type() == torch::kFloat)
      s.grad.add_(g);
    else
      s.grad = s.grad.to(torch::kFloat).add_(g);
    s.param.mutable_grad() = torch::Tensor();
  }
}

void Bf16Weights::to_fp32() {
  if (!bf16_) return;
  collect_gradients();
  torch::NoGradGuard ng;
  for (auto& s : slots_) {
    s.param.set_data(s.master);
    const bool cast =
        s.grad.defined() && s.grad.scalar_type() != torch::kFloat && !grads_stay_bf16_;
    s.param.mutable_grad() = cast ? s.grad.to(torch::kFloat) : s.grad;
    s.master = s.grad = torch::Tensor();
  }
  bf16_ = false;
}

torch::Tensor Bf16Weights::bf16_copy(const torch::Tensor& param) const {
  // set_data keeps the parameter's TensorImpl: the key holds through the swaps.
  const auto it = slot_of_.find(param.unsafeGetTensorImpl());
  if (it == slot_of_.end()) return {};
  const auto& s = slots_[it->second];
  return s.param.requires_grad() ? s.copy : torch::Tensor();
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
