// Launcher of the RMSNorm weight-gradient kernel (norm_weight_grad.cu), torch-free so that nvcc
// compiles only plain CUDA. For y = w ⊙ x · rstd over rows of x [N, D]:
//   dw_j = Σ_n dy_nj · x_nj · rstd_n
// in two passes: `splits` blocks of rows each sum their rows into partial [splits, D] (fp32), then
// one thread per column adds the partials up. ATen's rms_norm backward computes this with its
// layer-norm gamma kernel at a third of the memory bandwidth (m350m-8k's profile: 2.5 % of the
// step against 2.2 % for the norm's forward and input gradient together).
// dtype: 0 = fp32, 1 = bf16 (x, dy and dw); rows of x and dy are contiguous with stride D.
#pragma once

#include <cstdint>

namespace ctx::cuda {

// How many row blocks to split N rows into on this device (a few per multiprocessor).
int64_t norm_weight_grad_splits(int64_t N);

// partial: fp32 scratch of splits·D elements.
void rms_norm_weight_grad(int dtype, const void* x, const void* dy, const float* rstd, void* dw,
                          float* partial, int64_t N, int64_t D, int64_t splits, void* stream);

}  // namespace ctx::cuda
