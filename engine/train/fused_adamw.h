// AdamW's update in fused CUDA kernels on the state torch::optim::AdamW keeps, so checkpoints and
// resume are unchanged:
//  - where CtxLab's kernels are built (CTXLAB_CUDA_KERNELS), the master-weight kernel of
//    train/cuda/master_adamw.h: fp32 or bf16 gradients, the clipping factor applied inside, and
//    train.precision bf16-weights' next bf16 copies written by the same pass;
//  - otherwise ATen's _fused_adamw_ (LibTorch 2.x), one launch per group, after the gradients are
//    made fp32 and scaled;
//  - elsewhere (the CPU, LibTorch 1.13) the optimizer's own step.
// CTXLAB_ADAMW=aten takes ATen's path where both exist (the bench compares them).
#pragma once

#include <torch/optim/adamw.h>

#include <map>
#include <string>

namespace ctx {

class Bf16Weights;

class FusedAdamW {
 public:
  // copies: train.precision bf16-weights' copies, refreshed by each step (null: none). Where the
  // master-weight kernel is built, their gradients then stay bf16 for it to read.
  explicit FusedAdamW(torch::optim::AdamW& optimizer, Bf16Weights* copies = nullptr);
  // Whether step() takes the fused path for these parameters (all on CUDA, LibTorch 2.x).
  static bool available(torch::optim::AdamW& optimizer);
  // grad_coef: a device scalar every gradient is multiplied by first (the clipping factor of
  // train/grad_clip.h), or undefined.
  void step(const torch::Tensor& grad_coef = {});
  // Whether step() runs CtxLab's master-weight kernel (else gradients must be fp32 parameters'
  // dtype).
  static bool master_kernel_built();

 private:
  bool master_step(const torch::Tensor& grad_coef);
  void aten_step(const torch::Tensor& grad_coef);

  torch::optim::AdamW& opt_;
  Bf16Weights* copies_;
  // Per parameter: its step count as a device scalar, and the count that scalar holds (read on the
  // host, never from the device: a read per parameter per step would synchronise every step).
  struct Step {
    torch::Tensor device;
    int64_t value = -1;
  };
  std::map<const void*, Step> steps_;
};

}  // namespace ctx
