// Training and fine-tuning jobs: builds the model and data from a RunConfig (run_setup.h), trains
// with AdamW, warmup + cosine, clipping and accumulation, checkpoints into the run folder, records
// everything in the run store, resumes interrupted runs, and evaluates at the end (run_evals.h).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "config/eval_results.h"
#include "config/run_config.h"
#include "store/run_store.h"
#include "train/events.h"
#include "train/run_evals.h"
#include "train/run_setup.h"

namespace ctx {

class Distributed;

struct TrainRequest {
  store::RunStore* store = nullptr;
  Preflight prepared;  // from preflight(); filled by run_training when empty
  int64_t run_id = 0;
  RunConfig config;
  bool resume = false;
  std::function<bool()>
      should_stop;               // polled every step (SIGINT/SIGTERM): checkpoint, mark interrupted
  int64_t stop_after_step = -1;  // tests: behave as if interrupted after this step
  // Several processes (torchrun): this rank's place; null = one process. should_stop must then
  // agree across ranks, and only rank 0's `store` is the real one (dist_training.h).
  Distributed* dist = nullptr;
};

struct TrainOutcome {
  store::RunStatus status = store::RunStatus::Finished;
  int64_t step = 0;
  std::string error;
  std::vector<PplResult> evals;
  std::vector<RetrievalResult>
      retrieval;  // the sweeps eval.passkey / needle / kvretrieval asked for
};

// Runs (or resumes) the job to its end. Exceptions from bad input become status failed with the
// message; a non-finite loss becomes diverged with the step.
TrainOutcome run_training(const TrainRequest& req, EventSink& events);

}  // namespace ctx
