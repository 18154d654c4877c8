// Gradient clipping by global L2 norm that stays on the device: no host synchronisation, so the CPU
// keeps queueing the next step's kernels while the GPU finishes this one (torch::nn::utils::
// clip_grad_norm_ reads the norm back to the host every step). Same rule as PyTorch: gradients are
// scaled by min(1, max_norm / (norm + 1e-6)).
#pragma once

#include <torch/types.h>

#include <vector>

namespace ctx {

// Clips the gradients of `params` in place; returns the total norm before clipping as a 0-d
// tensor on the gradients' device (undefined when no parameter has a gradient).
torch::Tensor clip_grad_norm_on_device(const std::vector<torch::Tensor>& params, double max_norm);

// The same without touching the gradients: the total norm and the factor min(1, max_norm / (norm +
// 1e-6)) as fp32 0-d device tensors, for an optimizer that scales as it reads
// (train/fused_adamw.h). Gradients may be fp32 or bf16; the norm is accumulated in fp32.
struct ClipFactor {
  torch::Tensor norm, coef;
};
ClipFactor clip_factor_on_device(const std::vector<torch::Tensor>& params, double max_norm);

}  // namespace ctx
