// Launchers of CtxLab's SwiGLU kernels (fused_kernels.cu; the rotary kernel is qkv_rope.h's),
// torch-free so that nvcc compiles only plain CUDA: raw pointers, sizes, element strides and the
// stream to launch on. Built only where a
// CUDA LibTorch and nvcc are both present (cmake/CudaKernels.cmake defines CTXLAB_CUDA_KERNELS);
// model/fused_ops.h wraps them in autograd functions with ATen fallbacks.
// dtype: 0 = fp32, 1 = bf16 (the element type of gu/out/dgu).
#pragma once

#include <cstdint>

namespace ctx::cuda {

// SwiGLU on stacked gate/up rows: gu [N, 2F] (row stride gs, gate in [0, F), up in [F, 2F)),
// out [N, F] contiguous: out = silu(g) * u.
void swiglu_forward(int dtype, const void* gu, void* out, int64_t N, int64_t F, int64_t gs, void* stream);

// Its gradient: dgu [N, 2F] contiguous from gu and dout [N, F] contiguous:
// d g = dout · u · σ(g)(1 + g(1 - σ(g))), d u = dout · silu(g).
void swiglu_backward(int dtype, const void* gu, const void* dout, void* dgu, int64_t N, int64_t F, int64_t gs,
                     void* stream);

}  // namespace ctx::cuda
