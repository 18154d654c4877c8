// Training and evaluation precision (train.precision, eval.precision): "fp32", or "bf16" on a GPU —
// bf16 matrix products and attention through autocast, with softmax, losses and norm statistics in
// fp32, and fp32 master weights and optimizer state. The CPU runs fp32 only.
#pragma once

#include <torch/types.h>

#include <string>

namespace ctx {

// ConfigError naming `key` when `precision` cannot run on `device` (bf16 on the CPU, or on a GPU
// whose kernels refuse bf16). `bf16_weights`: "bf16-weights" (bf16 weights, fp32 master copies:
// train/master_weights.h) is also accepted, where the caller runs it.
void check_precision(const std::string& precision, const torch::Device& device,
                     const std::string& key, bool bf16_weights = false);

// ConfigError naming train.cuda_graph when it is on and `device` is not CUDA or this build cannot
// capture CUDA graphs (train/step_graph.h).
struct TrainConfig;
void check_cuda_graph(const TrainConfig& t, const torch::Device& device);

// Autocast to bf16 on CUDA for its lifetime when precision is "bf16"; nothing for "fp32".
class PrecisionScope {
 public:
  PrecisionScope(const std::string& precision, const torch::Device& device);
  ~PrecisionScope();
  PrecisionScope(const PrecisionScope&) = delete;
  PrecisionScope& operator=(const PrecisionScope&) = delete;

 private:
  bool active_ = false;
  bool was_enabled_ = false;
  c10::ScalarType was_dtype_ = c10::ScalarType::Half;
};

}  // namespace ctx
