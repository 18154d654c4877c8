// Launcher of the fused cross-entropy kernel (cross_entropy.cu), torch-free so that nvcc compiles
// plain CUDA. The chunked loss (model/chunked_loss.h) computes a chunk's logits in bf16 and then,
// per row i with target t_i, row weight w_i and gradient scale s_i (w_i / Σw):
//   lse_i      = log Σ_j exp(x_ij)                       (fp32, max-subtracted)
//   loss_i     = w_i · (lse_i − x_it)                    (fp32, written to row_loss)
//   x_ij      ← s_i · (exp(x_ij − lse_i) − [j = t_i])    (bf16, in place: the logits' gradient)
// in two reads and one write of the row, where ATen's log_softmax, exp, scatter and cast take
// about seven passes over [n, V] and an fp32 copy of it. Built only where a CUDA LibTorch and nvcc
// are both present (cmake/CudaKernels.cmake defines CTXLAB_CUDA_KERNELS).
#pragma once

#include <cstdint>

namespace ctx::cuda {

// logits: bf16 [n, V] with row stride ld (elements), overwritten by the gradient. targets: int64
// [n]; a target outside [0, V) makes that row's loss NaN. weight, scale, row_loss: fp32 [n].
void cross_entropy_rows_bf16(void* logits, int64_t n, int64_t V, int64_t ld, const int64_t* targets,
                             const float* weight, const float* scale, float* row_loss,
                             void* stream);

}  // namespace ctx::cuda
