// Data-parallel gradient averaging through c10d::Reducer, as DistributedDataParallel uses it: the
// trainable parameters in buckets (1 MiB first, then 25 MiB, last parameters first) that are
// all-reduced while the backward pass still runs, each as soon as its gradients are complete; the
// average over all ranks lands in .grad, whose storage is the bucket (gradient_as_bucket_view).
// Micro-batches before the last of a step accumulate locally (no reduction), as DDP's no_sync.
#pragma once

#include <torch/types.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace ctx {

struct Group;

class GradientSync {
 public:
  // `params`: every trainable parameter with its name, in the same order on every rank.
  // `find_unused`: some may get no gradient in a step (the reducer then finds them from the graph).
  GradientSync(const std::vector<std::pair<std::string, torch::Tensor>>& params, Group& world, bool find_unused);
  ~GradientSync();
  GradientSync(const GradientSync&) = delete;
  GradientSync& operator=(const GradientSync&) = delete;

  // Before the forward pass of a micro-batch whose backward reduces (the step's last).
  void before_forward();
  // After that forward pass, before its backward: arms the reducer for the graph of `outputs`.
  void before_backward(const std::vector<torch::Tensor>& outputs);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ctx
