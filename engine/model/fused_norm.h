// RMSNorm on CUDA as three kernels: ATen's fused forward (aten::_fused_rms_norm, LibTorch 2.8+,
// which also returns each row's 1/rms) and input gradient, and CtxLab's weight-gradient kernel
// (model/cuda/norm_weight_grad.h) in place of ATen's, which ran at a third of the memory bandwidth
// (m350m-8k). The ATen ops are called by name (model/boxed_op.h); a LibTorch without them, or
// without CtxLab's CUDA kernels, keeps ATen's rms_norm. CTXLAB_RMS_NORM=aten (read at each call)
// turns this path off for an A/B.
// Shapes: x [..., D] (rows N = numel / D), w [D], rstd fp32 [N].
#pragma once

#include <torch/types.h>

namespace ctx {

// y = w ⊙ x · rstd with rstd = 1 / sqrt(mean(x², last dim) + eps), statistics in fp32, for x on
// CUDA in fp32 or bf16 and w of x's dtype; undefined when the path does not apply here.
torch::Tensor rms_norm_fused(const torch::Tensor& x, const torch::Tensor& w, double eps);

// Whether rms_norm_fused computes on this build and for a CUDA tensor of this dtype (the ops are
// present, the kernels built, no call has failed, CTXLAB_RMS_NORM is not "aten").
bool rms_norm_fused_available(torch::ScalarType dtype);

// The readable gradients the path is held to (fp32 arithmetic): for x [N, D], dy [N, D], rstd [N]
//   dx = rstd ⊙ (w ⊙ dy − x̂ · mean(w ⊙ dy ⊙ x̂, last dim)),  x̂ = x · rstd
//   dw = Σ_n dy ⊙ x̂
torch::Tensor rms_norm_input_grad_reference(const torch::Tensor& x, const torch::Tensor& w,
                                            const torch::Tensor& rstd, const torch::Tensor& dy);
torch::Tensor rms_norm_weight_grad_reference(const torch::Tensor& x, const torch::Tensor& rstd,
                                             const torch::Tensor& dy);

}  // namespace ctx
