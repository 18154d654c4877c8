// train, resume and eval under torchrun (WORLD_SIZE > 1): every rank reads and checks the config;
// rank 0 alone writes the store (the run, its status, metrics, evaluations) and the checkpoints
// and prints; the other ranks follow it through c10d's store and train against a private copy of
// the run record in memory. Without torchrun the verbs run in one process, as always.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cli/cli_common.h"
#include "store/run_store.h"
#include "train/distributed.h"

namespace ctx::cli {

int cmd_train_dist(const Common& c, const DistEnv& env, const std::string& config_path, const std::string& device,
                   int64_t init_run, const std::string& study);
int cmd_resume_dist(const Common& c, const DistEnv& env, int64_t run);
// Perplexity with every window split over one ring of all ranks (lengths past one GPU's memory).
int cmd_eval_dist(const Common& c, const DistEnv& env, int64_t run, const std::vector<int64_t>& lengths,
                  const std::vector<std::string>& modes, const std::string& device);

// The number of processes a run was trained on (its config's _resolved.distributed; 1 when
// absent), and the UsageError a resume on `world` processes gets when that differs.
int64_t trained_world_size(const store::RunRecord& run);
void check_resume_world(const store::RunRecord& run, int world);

}  // namespace ctx::cli
