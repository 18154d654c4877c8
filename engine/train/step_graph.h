// A training step's passes (forward and backward) captured once as a CUDA graph and replayed at
// every later step (train.cuda_graph, bench --shape --cuda-graph). A replay launches the whole
// step's few thousand kernels with one call, so small models stop waiting on the CPU's launches.
//
// What a capture assumes of the passes it records (the caller keeps these true):
//  - fixed shapes: the inputs are device tensors the caller refills in place (copy_) before each
//    replay; a new shape needs a new capture;
//  - no host synchronisation inside (no .item(), no reads of device values, no pageable copies);
//  - every tensor the passes create comes from the graph's private memory pool, so what they
//    hand out (the loss, the gradients) are the same tensors after every replay: the gradients a
//    capture leaves on the parameters are recorded and put back after each replay
//    (restore_gradients), because an optimizer may replace a parameter's gradient tensor;
//  - gradients start undefined at the capture (then each replay writes them afresh, nothing
//    accumulates across replays).
// Built where CtxLab's CUDA parts are (CTXLAB_CUDA_KERNELS: a CUDA LibTorch and nvcc); elsewhere
// supported() is false and capture() throws.
#pragma once

#include <torch/types.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace ctx {

class StepGraph {
 public:
  StepGraph();
  ~StepGraph();
  StepGraph(const StepGraph&) = delete;
  StepGraph& operator=(const StepGraph&) = delete;

  // Whether this build can capture CUDA graphs.
  static bool supported();

  // On a stream of its own: `warmup` eager calls of `passes` (lazy state such as kernel plans and
  // cached tables is made outside the capture), then one call recorded, not run. Before each call
  // the gradients of `params` are made undefined. Afterwards the gradients the capture left on
  // `params` are recorded. A failed capture throws std::runtime_error("CUDA graph capture failed:
  // ...") and leaves no capture open.
  void capture(const std::function<void()>& passes, const std::vector<torch::Tensor>& params,
               int warmup = 2);
  // Runs the captured passes on the current stream, then restore_gradients().
  void replay();
  // Puts the captured gradient tensors back on their parameters.
  void restore_gradients();
  bool captured() const;
  // Releases the graph and its memory pool (the tensors the passes handed out become invalid).
  void reset();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ctx
