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

}  // namespace ctx
