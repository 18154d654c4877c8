// Launcher of the master-weight AdamW kernel (master_adamw.cu), torch-free so that nvcc compiles
// plain CUDA. train.precision "bf16-weights" keeps fp32 master weights and AdamW moments while the
// passes run on bf16 copies; this one kernel does, per element, what otherwise takes five passes
// (the bf16 gradient cast to fp32, the clipping scale, AdamW's update, the next step's bf16 copy,
// and for small tensors a launch each):
//   g  = grad · coef                       (coef: the clipping factor, a device scalar, or 1)
//   p -= lr_wd · p                          (lr_wd = lr · weight_decay, AdamW's decoupled decay)
//   m  = β1 m + (1 - β1) g ;  v = β2 v + (1 - β2) g²
//   p -= step_size · m / (√v / bc2_sqrt + eps)   (step_size = lr / (1 - β1^t), bc2_sqrt = √(1 -
//   β2^t)) copy = bf16(p)                          (when the parameter has a bf16 copy)
// in fp32, in the order of ATen's _fused_adamw_ (so both round alike).
// Built only where a CUDA LibTorch and nvcc are both present (cmake/CudaKernels.cmake).
#pragma once

#include <cstdint>

namespace ctx::cuda {

struct MasterAdamwEntry {
  float* master;     // fp32 parameter, updated in place
  const void* grad;  // fp32 or bf16 (grad_dtype), same numel
  float* exp_avg;    // fp32 moments, updated in place
  float* exp_avg_sq;
  void* copy;  // bf16 copy written after the update, or null
  int64_t n;
  float lr_wd, step_size, bc2_sqrt;
};

// Updates `count` tensors in as few launches as their number needs (a few hundred per launch).
// grad_dtype: 0 = fp32, 1 = bf16 (the same for every entry). coef: device fp32 scalar or null.
void master_adamw(const MasterAdamwEntry* entries, int count, int grad_dtype, float beta1,
                  float beta2, float eps, const float* coef, void* stream);

}  // namespace ctx::cuda
