// AdamW's update in one fused CUDA kernel per parameter group (ATen's _fused_adamw_, LibTorch 2.x),
// on the state torch::optim::AdamW keeps, so checkpoints and resume are unchanged. Elsewhere
// (the CPU, LibTorch 1.13) the optimizer's own step runs.
#pragma once

#include <torch/optim/adamw.h>

#include <map>
#include <string>

namespace ctx {

class FusedAdamW {
 public:
  explicit FusedAdamW(torch::optim::AdamW& optimizer) : opt_(optimizer) {}
  // Whether step() takes the fused path for these parameters (all on CUDA, LibTorch 2.x).
  static bool available(torch::optim::AdamW& optimizer);
  void step();

 private:
  torch::optim::AdamW& opt_;
  // Per parameter: its step count as a device scalar, and the count that scalar holds (read on the
  // host, never from the device: a read per parameter per step would synchronise every step).
  struct Step {
    torch::Tensor device;
    int64_t value = -1;
  };
  std::map<const void*, Step> steps_;
};

}  // namespace ctx
