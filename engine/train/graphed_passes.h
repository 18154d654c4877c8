// train.cuda_graph: a training step's forward and backward passes replayed from a CUDA graph
// (train/step_graph.h) over input tensors refilled in place. The graph is captured at the first
// step and again when the batch's shape changes (a new stage of staged training). One micro-batch
// per step, one process, no cache carried between windows: the config check refuses the rest
// (methods/resolve_config.cpp). A capture can still fail where a method reads device values on
// the host inside the passes (a length-dependent RoPE scaling reads the largest id, CLEX its
// scale): then run() says so once, through failure(), and the caller trains without a graph. The
// host-side state of a step (sampled ids, the learning rate, the optimizer) stays outside the
// graph: ids and masks come in with each batch, the update runs eagerly after the replay.
#pragma once

#include <torch/types.h>

#include <optional>
#include <string>

#include "data/example.h"
#include "model/language_model.h"
#include "train/step_graph.h"

namespace ctx {

class Bf16Weights;

class GraphedPasses {
 public:
  // bf16: train.precision bf16-weights' copies (null otherwise); precision: train.precision.
  GraphedPasses(LanguageModel model, Bf16Weights* bf16, std::string precision,
                torch::Device device);

  // The loss of the passes over `batch` (a 0-d device tensor the graph rewrites), the parameters'
  // gradients set; nothing when a capture failed (failure() says why; later calls return nothing).
  std::optional<torch::Tensor> run(const data::Batch& batch);
  bool failed() const { return !failure_.empty(); }
  const std::string& failure() const { return failure_; }
  // Gives the graph's memory back (before the final evaluations); the next run() captures again.
  void release();

 private:
  void fill(const data::Batch& batch);
  void capture();

  LanguageModel model_;
  Bf16Weights* bf16_;
  std::string precision_;
  torch::Device device_;
  StepGraph graph_;
  torch::Tensor tokens_, targets_, positions_, mask_;  // what the graph reads
  torch::Tensor loss_;                                 // what it writes
  std::string failure_;
};

}  // namespace ctx
