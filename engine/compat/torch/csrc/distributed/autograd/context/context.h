// Stand-in for a LibTorch header Debian's libtorch-dev (1.13) leaves out: c10d's reducer.hpp
// includes it only for DistAutogradContext::GradCallback (a static_assert) and ContextPtr (a
// shared_ptr member of the Reducer, created and destroyed inside libtorch_cpu). Same names, same
// types and sizes as the real header; on the include path only where the real one is missing
// (cmake/Distributed.cmake). Nothing of distributed autograd is used.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <memory>

namespace torch {
namespace distributed {
namespace autograd {

class DistAutogradContext {
 public:
  using GradCallback = std::function<bool(at::Tensor&)>;
};
using ContextPtr = std::shared_ptr<DistAutogradContext>;

}  // namespace autograd
}  // namespace distributed
}  // namespace torch
