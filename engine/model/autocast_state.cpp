// ATen's CUDA autocast switch, through whichever API this LibTorch has.
#include "model/autocast_state.h"

#include <ATen/autocast_mode.h>
#include <torch/version.h>

namespace ctx {

AutocastState cuda_autocast_state() {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  return {at::autocast::is_autocast_enabled(at::kCUDA),
          at::autocast::get_autocast_dtype(at::kCUDA)};
#else
  return {at::autocast::is_enabled(), at::autocast::get_autocast_gpu_dtype()};
#endif
}

void set_cuda_autocast_state(const AutocastState& s) {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  at::autocast::set_autocast_enabled(at::kCUDA, s.enabled);
  at::autocast::set_autocast_dtype(at::kCUDA, s.dtype);
#else
  at::autocast::set_enabled(s.enabled);
  at::autocast::set_autocast_gpu_dtype(s.dtype);
#endif
}

AutocastRestore::AutocastRestore(const AutocastState& s) : previous_(cuda_autocast_state()) {
  set_cuda_autocast_state(s);
}

AutocastRestore::~AutocastRestore() {
  set_cuda_autocast_state(previous_);
}

}  // namespace ctx
