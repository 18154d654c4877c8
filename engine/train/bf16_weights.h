// train.precision "bf16-weights": bf16 weights for the passes, fp32 master weights for everything
// else. During a step's forward and backward passes each parameter holds a bf16 copy of itself, so
// matrix products, attention, the residual stream and the weight gradients are bf16 without a cast
// per operation (autocast's "bf16" keeps fp32 weights and activations between products). Around the
// passes the parameters are the fp32 masters again: the optimizer (fp32 AdamW moments), gradient
// clipping, checkpoints, evaluation and export see fp32 tensors, so resuming, merging LoRA and
// exporting work as for any run. Statistics that need fp32 stay fp32 inside the model (norm
// statistics, softmax inside the attention kernel, the loss, RoPE angles), and CLEX's ODE
// ("pos.clex.") keeps its fp32 weights.
// The swap uses set_data (the parameter objects the optimizer holds stay the same); autograd drops
// a parameter's gradient accumulator when its dtype changes. The bf16 copies persist between steps:
// frozen weights are cast once, trainable ones again before each step unless the optimizer wrote
// them itself (the master-weight AdamW kernel of train/fused_adamw.h, which also reads the bf16
// gradients directly when set_gradients_stay_bf16(true): no fp32 gradient exists then).
// Assumes: one process (c10d's Reducer registers each parameter's dtype once), a CUDA model.
#pragma once

#include <torch/nn/module.h>

#include <unordered_map>
#include <vector>

namespace ctx {

class Bf16Weights {
 public:
  // Records the model's trainable and frozen floating-point parameters (fp32, on their device).
  explicit Bf16Weights(torch::nn::Module& model);

  // Before a step's first forward pass: each parameter takes a bf16 copy of its fp32 value.
  void to_bf16();
  // After each backward pass (each micro-batch): the bf16 gradients are set aside and cleared; from
  // a second micro-batch on they are added into fp32 sums, so accumulation happens in fp32.
  void collect_gradients();
  // After the last backward pass: the parameters are the fp32 masters again, with the gradients of
  // the passes as theirs: fp32 sums, or with one micro-batch and set_gradients_stay_bf16(true) the
  // bf16 gradient itself (a parameter that got none has none).
  void to_fp32();

  // Whether a single micro-batch's gradients stay bf16 for the optimizer (its kernel reads them).
  void set_gradients_stay_bf16(bool on) { grads_stay_bf16_ = on; }
  // The persistent bf16 copy of a trainable `param` (the fp32 master's object), or undefined.
  torch::Tensor bf16_copy(const torch::Tensor& param) const;
  // The optimizer wrote bf16(master) into every trainable copy: the next to_bf16 need not cast.
  void copies_written() { copies_fresh_ = true; }

  // to_bf16 for its lifetime, to_fp32 when it ends, also when an exception (a stop request, an
  // error) leaves the passes half-way: checkpoints never see bf16 weights. A null `w` does nothing.
  class Scope {
   public:
    explicit Scope(Bf16Weights* w);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    Bf16Weights* w_;
  };

 private:
  struct Slot {
    torch::Tensor param, master, grad;  // grad: the bf16 gradient or the fp32 sum (or undefined)
    torch::Tensor copy;  // the persistent bf16 copy (undefined before the first step)
  };
  std::vector<Slot> slots_;
  std::unordered_map<const void*, size_t> slot_of_;  // by the parameter's TensorImpl (bf16_copy)
  bool bf16_ = false;
  bool grads_stay_bf16_ = false;
  bool copies_fresh_ = false;
};

}  // namespace ctx
