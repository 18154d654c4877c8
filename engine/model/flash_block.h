// One attention block through the flash kernel LibTorch 2.x ships on CUDA
// (aten::_scaled_dot_product_flash_attention and its backward), with the log-sum-exp ring attention
// merges by. The ops are found in the dispatcher and called by argument name, so a schema change
// between LibTorch versions makes them unavailable (the exact path runs), never breaks the build.
// Shapes: q [B, H, tq, D], k, v [B, H, tk, D] in bf16 or fp16; lse [B, H, tq] fp32.
#pragma once

#include <torch/types.h>

#include <optional>
#include <utility>

namespace ctx {

// Whether the flash kernel takes these tensors (CUDA, bf16/fp16, D a multiple of 8 up to 256, the
// ops present) and CTXLAB_RING_KERNEL is not "exact".
bool flash_block_usable(const torch::Tensor& q, const torch::Tensor& k);

// (out [B, H, tq, D] in q's dtype, lse fp32), or nothing when the call failed (then it is not tried
// again in this process).
std::optional<std::pair<torch::Tensor, torch::Tensor>> flash_block_forward(const torch::Tensor& q,
                                                                           const torch::Tensor& k,
                                                                           const torch::Tensor& v,
                                                                           bool causal);

// (dq, dk, dv) of the block given the final output `out`, its gradient and log-sum-exp, or nothing
// when the call failed.
struct FlashGrads {
  torch::Tensor dq, dk, dv;
};
std::optional<FlashGrads> flash_block_backward(const torch::Tensor& q, const torch::Tensor& k,
                                               const torch::Tensor& v, const torch::Tensor& out,
                                               const torch::Tensor& grad_out, const torch::Tensor& lse,
                                               bool causal);

}  // namespace ctx
