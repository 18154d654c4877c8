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

// Causal attention whose backward runs later from the saved output and log-sum-exp (the attention
// tape of model/saved_attention.h), through either kernel LibTorch 2.x ships. q [B, H, T, D]; k, v
// [B, Hkv, T, D] with Hkv dividing H for flash, Hkv == H for cuDNN; any layout with a dense last
// dimension (the heads-first views of [B, T, H, D] projections are read in place).
enum class LseKernel { flash, cudnn };

struct LseForward {
  LseKernel kernel = LseKernel::flash;
  torch::Tensor out, lse, seed, offset;  // what the kernel's backward reads
};

// Whether `kernel` takes these tensors (CUDA, bf16/fp16, head size, the ops present, no failed
// call).
bool lse_kernel_usable(LseKernel kernel, const torch::Tensor& q, const torch::Tensor& k);

// Nothing when the call failed (the tape is then off for this process, with one warning).
std::optional<LseForward> lse_attention_forward(LseKernel kernel, const torch::Tensor& q,
                                                const torch::Tensor& k, const torch::Tensor& v);
std::optional<FlashGrads> lse_attention_backward(const LseForward& f, const torch::Tensor& q,
                                                 const torch::Tensor& k, const torch::Tensor& v,
                                                 const torch::Tensor& grad_out);

}  // namespace ctx
