// The key torch::optim::AdamW files a parameter's state under: the TensorImpl's address, printed
// (LibTorch 1.x and early 2.x, std::string keys) or as a pointer (later 2.x). The fused step and
// ZeRO-1 read and write the optimizer's own state through it, so checkpoints stay AdamW's.
#pragma once

#include <torch/optim/adamw.h>

#include <sstream>
#include <string>
#include <type_traits>

namespace ctx {

using OptimizerStateKey =
    std::decay_t<decltype(std::declval<torch::optim::AdamW&>().state())>::key_type;

// A template so that only the branch of this LibTorch's key type is instantiated.
template <class K = OptimizerStateKey>
K optimizer_state_key(const torch::Tensor& p) {
  if constexpr (std::is_same_v<K, std::string>) {
    std::ostringstream s;
    s << p.unsafeGetTensorImpl();
    return s.str();
  } else {
    return static_cast<K>(p.unsafeGetTensorImpl());
  }
}

}  // namespace ctx
