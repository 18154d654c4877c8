// Autocast through ATen's own switch (the C++ form of torch.autocast), whose API changed in 2.4.
#include "train/precision.h"

#include <ATen/autocast_mode.h>
#include <torch/torch.h>
#include <torch/version.h>

#include "config/run_config.h"
#include "model/autocast_state.h"
#include "train/step_graph.h"

namespace ctx {

void check_precision(const std::string& precision, const torch::Device& device,
                     const std::string& key, bool bf16_weights) {
  if (precision == "fp32") return;
  if (precision != "bf16" && !(bf16_weights && precision == "bf16-weights"))
    throw ConfigError(key + ": unknown precision '" + precision + "' (fp32" +
                      (bf16_weights ? ", bf16 or bf16-weights)" : " or bf16)"));
  if (!device.is_cuda())
    throw ConfigError(key + ": " + precision + " runs on a CUDA device (this run's device is " + device.str() +
                      "); the CPU computes in fp32");
  try {
    auto a = torch::ones({8, 8}, torch::TensorOptions().dtype(torch::kBFloat16).device(device));
    (void)torch::matmul(a, a).sum().item<float>();
  } catch (const std::exception&) {
    throw ConfigError(key + ": the GPU " + device.str() + " cannot run bf16 matrix products");
  }
}

void check_cuda_graph(const TrainConfig& t, const torch::Device& device) {
  if (!t.cuda_graph) return;
  if (!device.is_cuda())
    throw ConfigError("train.cuda_graph: CUDA graphs need a CUDA device (this run's device is " +
                      device.str() + ")");
  if (!StepGraph::supported())
    throw ConfigError(
        "train.cuda_graph: this build has no CUDA graphs (they need a CUDA LibTorch and nvcc)");
}

PrecisionScope::PrecisionScope(const std::string& precision, const torch::Device& device) {
  if (precision != "bf16" || !device.is_cuda()) return;
  active_ = true;
  const auto was = cuda_autocast_state();
  was_enabled_ = was.enabled;
  was_dtype_ = was.dtype;
  set_cuda_autocast_state({true, torch::kBFloat16});
  at::autocast::increment_nesting();
}

PrecisionScope::~PrecisionScope() {
  if (!active_) return;
  // Casts cached for this scope (weights cast once per forward) are dropped when it ends.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  set_cuda_autocast_state({was_enabled_, was_dtype_});
}

}  // namespace ctx
