// Autocast through ATen's own switch (the C++ form of torch.autocast), whose API changed in 2.4.
#include "train/precision.h"

#include <ATen/autocast_mode.h>
#include <torch/torch.h>
#include <torch/version.h>

#include "config/run_config.h"

namespace ctx {
namespace {

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
bool cuda_autocast_enabled() { return at::autocast::is_autocast_enabled(at::kCUDA); }
void set_cuda_autocast(bool on) { at::autocast::set_autocast_enabled(at::kCUDA, on); }
c10::ScalarType cuda_autocast_dtype() { return at::autocast::get_autocast_dtype(at::kCUDA); }
void set_cuda_autocast_dtype(c10::ScalarType t) { at::autocast::set_autocast_dtype(at::kCUDA, t); }
#else
bool cuda_autocast_enabled() { return at::autocast::is_enabled(); }
void set_cuda_autocast(bool on) { at::autocast::set_enabled(on); }
c10::ScalarType cuda_autocast_dtype() { return at::autocast::get_autocast_gpu_dtype(); }
void set_cuda_autocast_dtype(c10::ScalarType t) { at::autocast::set_autocast_gpu_dtype(t); }
#endif

}  // namespace

void check_precision(const std::string& precision, const torch::Device& device, const std::string& key) {
  if (precision == "fp32") return;
  if (precision != "bf16") throw ConfigError(key + ": unknown precision '" + precision + "' (fp32 or bf16)");
  if (!device.is_cuda())
    throw ConfigError(key + ": bf16 runs on a CUDA device (this run's device is " + device.str() +
                      "); the CPU computes in fp32");
  try {
    auto a = torch::ones({8, 8}, torch::TensorOptions().dtype(torch::kBFloat16).device(device));
    (void)torch::matmul(a, a).sum().item<float>();
  } catch (const std::exception&) {
    throw ConfigError(key + ": the GPU " + device.str() + " cannot run bf16 matrix products");
  }
}

PrecisionScope::PrecisionScope(const std::string& precision, const torch::Device& device) {
  if (precision != "bf16" || !device.is_cuda()) return;
  active_ = true;
  was_enabled_ = cuda_autocast_enabled();
  was_dtype_ = cuda_autocast_dtype();
  set_cuda_autocast(true);
  set_cuda_autocast_dtype(torch::kBFloat16);
  at::autocast::increment_nesting();
}

PrecisionScope::~PrecisionScope() {
  if (!active_) return;
  // Casts cached for this scope (weights cast once per forward) are dropped when it ends.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  set_cuda_autocast(was_enabled_);
  set_cuda_autocast_dtype(was_dtype_);
}

}  // namespace ctx
