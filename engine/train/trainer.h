// Training and fine-tuning jobs: builds the model and data from a RunConfig, trains with AdamW,
// warmup + cosine, clipping and accumulation, checkpoints into the run folder, records everything
// in the run store, resumes interrupted runs, and evaluates at the end.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <torch/optim/adamw.h>

#include "eval/perplexity.h"
#include "eval/retrieval.h"
#include "methods/sampler.h"
#include "store/run_store.h"
#include "train/events.h"
#include "train/run_config.h"

namespace ctx {

// What a run needs that can fail on bad input, checked before the run record exists, so a bad
// corpus or init source leaves the store untouched.
struct Preflight {
  std::shared_ptr<const data::Split> split;
  std::shared_ptr<PositionSampler> sampler;  // built over split->train: method errors surface here
  std::string init_checkpoint;  // empty for scratch
};
// Resolves init.run_named to init.run (the latest finished run of that name) and checks the data,
// the sampler and the init checkpoint.
Preflight preflight(store::RunStore& db, RunConfig& cfg);

struct TrainRequest {
  store::RunStore* store = nullptr;
  Preflight prepared;  // from preflight(); filled by run_training when empty
  int64_t run_id = 0;
  RunConfig config;
  bool resume = false;
  std::function<bool()> should_stop;  // polled every step (SIGINT/SIGTERM): checkpoint, mark interrupted
  int64_t stop_after_step = -1;       // tests: behave as if interrupted after this step
};

struct TrainOutcome {
  store::RunStatus status = store::RunStatus::Finished;
  int64_t step = 0;
  std::string error;
  std::vector<PplResult> evals;
  std::vector<RetrievalResult> retrieval;  // the sweeps eval.passkey / needle / kvretrieval asked for
};

// One training (micro-)batch exactly as the trainer builds it: deterministic in (seed, step, micro),
// so a resumed run replays the same data. Counts the presented positions into `stats` if given.
class PositionStats;
data::Batch make_batch(PositionSampler& sampler, uint64_t seed, int64_t step, int64_t micro, int64_t size,
                       int64_t tokens_before, PositionStats* stats);

// The documents a config trains and validates on (the corpus split as the trainer splits it).
data::Split load_run_split(const RunConfig& c);

// The model pieces the trainer and the benchmarks build from a config.
TransformerLM build_model(const RunConfig& c);
std::unique_ptr<torch::optim::AdamW> build_optimizer(TransformerLM& model, const TrainConfig& t);

// "<db without extension>.runs/run-N" beside the store.
std::string run_dir_for(const std::string& db_path, int64_t run_id);

// The config a stored run was made with (the stored JSON minus its "_given" and "_resolved" notes).
RunConfig config_of_run(const store::RunRecord& run);

// Creates the run record (queued) and its folder; returns the id.
int64_t create_run(store::RunStore& db, const RunConfig& cfg, const nlohmann::json& config_as_given = nullptr,
                   std::optional<int64_t> study = std::nullopt);

// Runs (or resumes) the job to its end. Exceptions from bad input become status failed with the
// message; a non-finite loss becomes diverged with the step.
TrainOutcome run_training(const TrainRequest& req, EventSink& events);

// Evaluates a run's latest checkpoint at the given lengths and modes and records the results.
std::vector<PplResult> evaluate_run(store::RunStore& db, int64_t run_id, const std::vector<int64_t>& lengths,
                                    const std::vector<std::string>& modes, EventSink& events,
                                    const std::string& device_override = "");

}  // namespace ctx
