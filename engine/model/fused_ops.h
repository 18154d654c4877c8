// Fused rotary embedding and SwiGLU: autograd functions over CtxLab's CUDA kernels
// (model/cuda/qkv_rope.cu, fused_kernels.cu; one pass over memory forward, one backward) where
// built and apply, and the readable ATen formulas everywhere else (the CPU, builds without nvcc,
// layouts the kernels do not take). The GPU tests hold each kernel to its formula. Shapes: B batch,
// H heads, T tokens, Dh head width, F the MLP width.
#pragma once

#include <torch/types.h>

#include <vector>

namespace ctx {

// Whether this build has the CUDA kernels (CTXLAB_CUDA_KERNELS).
bool cuda_kernels_built();

// Half-pairing RoPE over all of x's dims through the kernel: x [B, H, T, Dh] on CUDA (fp32 or bf16,
// last dim contiguous), cos/sin fp32 [B or 1, 1, T, Dh/2] taking no gradient. The result has x's
// [B, T, H, Dh] memory layout seen as [B, H, T, Dh]. Undefined when the kernel does not apply.
torch::Tensor rope_half_kernel(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin);

// The stacked q/k/v product qkv [B, T, (Hq + 2·Hkv)·Dh] cut into q [B, Hq, T, Dh] and k, v
// [B, Hkv, T, Dh], q and k rotated as rope_half_kernel does (cos/sin likewise), in one kernel each
// way (model/cuda/qkv_rope.h): q and k land in one fresh [B, T, Hq + Hkv, Dh] buffer, v is a view
// of qkv, and the backward writes the gradients of all three straight into one for qkv (no rotation
// per tensor, no concatenation). Empty where the kernel does not apply (the caller then splits and
// rotates) or CTXLAB_QKV_ROPE=split (read at each call, the A/B switch).
std::vector<torch::Tensor> split_rotate_qkv(const torch::Tensor& qkv, const torch::Tensor& cos,
                                            const torch::Tensor& sin, int64_t heads,
                                            int64_t kv_heads);

// silu(g) * u for gu [..., 2F] holding gate then up (the stacked gate/up product): the kernel on
// CUDA, swiglu_reference elsewhere.
torch::Tensor swiglu(const torch::Tensor& gu);
torch::Tensor swiglu_reference(const torch::Tensor& gu);

}  // namespace ctx
