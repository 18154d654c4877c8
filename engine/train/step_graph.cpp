// StepGraph; see step_graph.h. The capture follows PyTorch's whole-network recipe: warm up on a
// side stream, capture on it (a graph cannot be captured on the default stream), replay on the
// caller's stream.
#include "train/step_graph.h"

#include <stdexcept>
#include <string>

#ifdef CTXLAB_CUDA_KERNELS
#include <ATen/cuda/CUDAEvent.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace ctx {
namespace {

[[maybe_unused]] void clear_gradients(const std::vector<torch::Tensor>& params) {
  for (auto p : params)  // a handle: its gradient is the parameter's
    if (p.grad().defined()) p.mutable_grad() = torch::Tensor();
}

[[maybe_unused]] std::string first_line(const std::string& s) {
  const auto nl = s.find('\n');
  return nl == std::string::npos ? s : s.substr(0, nl);
}

}  // namespace

struct StepGraph::Impl {
#ifdef CTXLAB_CUDA_KERNELS
  std::unique_ptr<at::cuda::CUDAGraph> graph;
#endif
  std::vector<std::pair<torch::Tensor, torch::Tensor>> grads;  // (parameter, captured gradient)
};

StepGraph::StepGraph() : impl_(std::make_unique<Impl>()) {}
StepGraph::~StepGraph() = default;

bool StepGraph::supported() {
#ifdef CTXLAB_CUDA_KERNELS
  return true;
#else
  return false;
#endif
}

bool StepGraph::captured() const {
#ifdef CTXLAB_CUDA_KERNELS
  return impl_->graph != nullptr;
#else
  return false;
#endif
}

void StepGraph::reset() {
  impl_->grads.clear();
#ifdef CTXLAB_CUDA_KERNELS
  impl_->graph.reset();
#endif
}

void StepGraph::restore_gradients() {
  for (auto& [p, g] : impl_->grads) p.mutable_grad() = g;
}

void StepGraph::replay() {
#ifdef CTXLAB_CUDA_KERNELS
  if (!impl_->graph) throw std::logic_error("StepGraph::replay before a capture");
  impl_->graph->replay();
  restore_gradients();
#else
  throw std::logic_error("StepGraph::replay: this build has no CUDA graphs");
#endif
}

void StepGraph::capture(const std::function<void()>& passes,
                        const std::vector<torch::Tensor>& params, int warmup) {
  reset();
#ifdef CTXLAB_CUDA_KERNELS
  c10::DeviceIndex index = 0;
  for (const auto& p : params)
    if (p.is_cuda()) {
      index = p.device().index();
      break;
    }
  c10::cuda::CUDAGuard device_guard(index);
  const auto caller = c10::cuda::getCurrentCUDAStream(index);
  const auto side = c10::cuda::getStreamFromPool(false, index);
  at::cuda::CUDAEvent ready;
  ready.record(caller);
  ready.block(side);
  {
    c10::cuda::CUDAStreamGuard on_side(side);
    for (int i = 0; i < warmup; ++i) {
      clear_gradients(params);
      passes();
    }
    clear_gradients(params);
    side.synchronize();
    auto graph = std::make_unique<at::cuda::CUDAGraph>();
    graph->capture_begin();
    try {
      passes();
    } catch (const std::exception& e) {
      try {
        graph->capture_end();  // ends the (now invalid) capture on the stream
      } catch (...) {
      }
      clear_gradients(params);
      throw std::runtime_error("CUDA graph capture failed: " + first_line(e.what()));
    }
    try {
      graph->capture_end();
    } catch (const std::exception& e) {
      clear_gradients(params);
      throw std::runtime_error("CUDA graph capture failed: " + first_line(e.what()));
    }
    impl_->graph = std::move(graph);
  }
  at::cuda::CUDAEvent done;
  done.record(side);
  done.block(caller);
  for (const auto& p : params)
    if (p.grad().defined()) impl_->grads.emplace_back(p, p.grad());
#else
  (void)passes;
  (void)params;
  (void)warmup;
  throw std::runtime_error("CUDA graphs: this build has none (they need a CUDA LibTorch and nvcc)");
#endif
}

}  // namespace ctx
