// What the trainer does differently on several ranks, behind the few calls its hooks make: the
// rank's rows of each batch and its part of each sequence, losses weighted so that c10d's average
// over ranks is the global batch's gradient, ZeRO-1 AdamW, rank 0 alone reading and writing
// checkpoints (the others receive what it read), and one failure line for the whole run.
// Global batch = train.batch_size (per data-parallel rank) x data-parallel ranks x grad_accum.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <torch/optim/adamw.h>

#include "config/run_config.h"
#include "data/example.h"
#include "methods/sampler.h"
#include "model/context_parallel.h"
#include "model/language_model.h"
#include "train/distributed.h"
#include "train/events.h"

namespace ctx {

class GradientSync;
class PositionStats;
class ShardedAdamW;

class DistTraining {
 public:
  // Installs the context-parallel ring; on rank 0, watches for a peer's failure while the run lasts
  // (recording it in the store at `db_path` for run `run_id` should rank 0 be stuck in a collective).
  DistTraining(Distributed& dist, const RunConfig& c, const std::string& db_path, int64_t run_id);
  ~DistTraining();
  DistTraining(const DistTraining&) = delete;
  DistTraining& operator=(const DistTraining&) = delete;

  bool root() const { return dist_.root(); }
  int dp_size() const { return dist_.dp_size(); }
  const torch::Device& device() const { return dist_.device(); }
  std::string device_label() const { return dist_.device_label(); }

  // The start on every rank: rank 0 loads `init_checkpoint` (a fresh run) or the latest checkpoint
  // in `run_dir` (resume) and sends the weights; then the gradient sync and ZeRO-1 AdamW, its state
  // from the checkpoint's optimizer file. Returns the step resumed from (0 when fresh).
  int64_t start(LanguageModel& model, const TrainConfig& t, const std::string& init_checkpoint, bool resume,
                const std::string& run_dir, EventSink& events, std::unique_ptr<torch::optim::AdamW>& optim);

  // This data-parallel rank's rows of the micro-batch (the same rows one process builds for them).
  data::Batch make_batch(PositionSampler& sampler, uint64_t seed, int64_t step, int64_t micro, int64_t size,
                         int64_t tokens_before, PositionStats* stats);

  // One micro-batch on this rank: its tensors become this rank's part of each sequence (context
  // parallel), the ring is on until it ends, and the step's last micro-batch arms the gradient sync.
  class Micro {
   public:
    // The loss to differentiate: weighted by this rank's share of the global batch's scored tokens.
    torch::Tensor scale(const torch::Tensor& mean_loss);
    // This rank's part of the global mean loss, from what scale() returned.
    double value(const torch::Tensor& scaled) const;

   private:
    friend class DistTraining;
    DistTraining* owner_ = nullptr;
    bool sync_ = false;
    double factor_ = 1.0;
    std::optional<ShardedSequence> scope_;
  };
  std::unique_ptr<Micro> micro(torch::Tensor& tokens, torch::Tensor& targets, torch::Tensor& positions,
                               torch::Tensor& mask, bool last_of_step);

  double global_loss(double local) { return dist_.sum(local); }
  void zero_grad(LanguageModel& model);
  void optimizer_step();
  // Collective: rank 0 writes the model checkpoint, the gathered optimizer file beside it, and
  // prunes both to the newest two.
  void save_checkpoint(const std::string& path, LanguageModel& model, int64_t step, const std::string& config_json);

 private:
  Distributed& dist_;
  int64_t cp_;
  std::unique_ptr<GradientSync> sync_;
  std::unique_ptr<ShardedAdamW> zero_;
};

// The line a failed run records on this rank (trainer's catch): a peer's report when that is what
// stopped it (rank 0 waits briefly for one after a collective error), else its own, reported to
// the others. `own` is the first line of the exception's message.
std::string distributed_failure(Distributed& dist, const std::exception& e, const std::string& own);

// Config checks for a launch of `world` ranks, before anything runs (ConfigError, one line):
// context parallel needs a launch (world 1 refuses it), context_parallel divides the world, every training length splits into 2 x context_parallel
// chunks, and the position scheme can run on the ring.
void check_distributed_config(const RunConfig& c, int world);

}  // namespace ctx
