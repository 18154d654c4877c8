// ZeRO stage 1: AdamW's two moments for each trainable parameter live on one rank, its owner, so
// the optimizer state of a 7B model is split across the ranks. Every rank steps the parameters it
// owns (fused on CUDA) and broadcasts them to the others; gradients stay whole everywhere (the
// reducer's average). Owners: whole tensors, greedily balanced by size, the same on every rank.
// Checkpoints: rank 0 gathers every moment into one file beside the model checkpoint, and on resume
// reads it and sends each owner its own.
#pragma once

#include <torch/optim/adamw.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "config/run_config.h"
#include "model/language_model.h"

namespace ctx {

class Distributed;
class FusedAdamW;

class ShardedAdamW {
 public:
  // The local AdamW over this rank's parameters (the trainer sets its learning rate per step).
  ShardedAdamW(LanguageModel& model, const TrainConfig& t, Distributed& dist);
  ~ShardedAdamW();
  torch::optim::AdamW& local() { return *local_; }
  std::unique_ptr<torch::optim::AdamW> release_local();  // the trainer holds it; this keeps a pointer

  void step();  // this rank's update, then every owner's parameters to every rank
  // Collective: rank 0 writes every parameter's moments and step to `path` (a temporary name, then
  // renamed); the others send theirs.
  void save(const std::string& path);
  // Collective: rank 0 reads `path` and sends each owner its moments. Throws CheckpointError.
  void load(const std::string& path);

  int owner(size_t param) const { return owners_[param]; }

 private:
  struct Moments;
  Moments moments_of(size_t i);
  void set_moments(size_t i, const torch::Tensor& m, const torch::Tensor& v, int64_t step);
  void broadcast_owned();

  Distributed& dist_;
  std::vector<std::pair<std::string, torch::Tensor>> params_;  // trainable, in model order
  std::vector<int> owners_;
  std::unique_ptr<torch::optim::AdamW> owned_;  // until release_local()
  torch::optim::AdamW* local_ = nullptr;
  std::unique_ptr<FusedAdamW> fused_;
};

// The optimizer file beside a model checkpoint: "<dir>/ckpt-00000100.pt" -> "<dir>/zero-00000100.pt".
std::string zero_state_path(const std::string& checkpoint_path);
// Keeps the optimizer files of the step checkpoints still in the folder.
void prune_zero_states(const std::string& run_dir);

}  // namespace ctx
