// Launchers of CtxLab's own CUDA kernels (fused_kernels.cu), torch-free so that nvcc compiles only
// plain CUDA: raw pointers, sizes, element strides and the stream to launch on. Built only where a
// CUDA LibTorch and nvcc are both present (cmake/CudaKernels.cmake defines CTXLAB_CUDA_KERNELS);
// model/fused_ops.h wraps them in autograd functions with ATen fallbacks.
// dtype: 0 = fp32, 1 = bf16 (the element type of x/out and gu/out/dgu).
#pragma once

#include <cstdint>

namespace ctx::cuda {

// Rotary embedding, half pairing over all Dh dims, for x seen as [B, H, T, Dh] with element
// strides (xb, xh, xt, 1); out likewise with (ob, oh, ot, 1); cos/sin fp32 [B or 1, T, Dh/2] with
// strides (cb, ct, 1) (cb = 0 broadcasts one row of angles over the batch). out_a = a cos -
// sign·b sin, out_b = b cos + sign·a sin: sign = -1 is the inverse rotation (the gradient).
void rope_half(int dtype, const void* x, const float* cos, const float* sin, void* out, int64_t B, int64_t H,
               int64_t T, int64_t half, int64_t xb, int64_t xh, int64_t xt, int64_t ob, int64_t oh, int64_t ot,
               int64_t cb, int64_t ct, float sign, void* stream);

// SwiGLU on stacked gate/up rows: gu [N, 2F] (row stride gs, gate in [0, F), up in [F, 2F)),
// out [N, F] contiguous: out = silu(g) * u.
void swiglu_forward(int dtype, const void* gu, void* out, int64_t N, int64_t F, int64_t gs, void* stream);

// Its gradient: dgu [N, 2F] contiguous from gu and dout [N, F] contiguous:
// d g = dout · u · σ(g)(1 + g(1 - σ(g))), d u = dout · silu(g).
void swiglu_backward(int dtype, const void* gu, const void* dout, void* dgu, int64_t N, int64_t F, int64_t gs,
                     void* stream);

}  // namespace ctx::cuda
