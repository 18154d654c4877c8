// What a run is made of before its first step: the documents it trains and validates on, the
// model, the optimizer, the init checkpoint, the run record and its folder. Every check that can
// fail on bad input runs in preflight(), before the run record exists, so bad input leaves the
// store untouched.
#pragma once

#include <torch/optim/adamw.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "config/run_config.h"
#include "data/corpus.h"
#include "methods/sampler.h"
#include "model/language_model.h"
#include "store/run_store.h"

namespace ctx {

class PositionStats;

// What a run needs that can fail on bad input, checked before the run record exists.
struct Preflight {
  std::shared_ptr<const data::Split> split;
  std::shared_ptr<PositionSampler> sampler;  // built over split->train: method errors surface here
  std::string init_checkpoint;               // empty for scratch; a folder for a Hugging Face init
  std::vector<std::string> warnings;         // what loading the corpus noticed (a binary file, ...)
};
// Resolves init.run_named to init.run (the latest finished run of that name), takes the base run's
// model, tokenizer and rope scaling when the config leaves the model out, and checks the data, the
// tokenizer, the sampler and the init checkpoint.
Preflight preflight(store::RunStore& db, RunConfig& cfg);
// The same without a store (`check` before the store exists): init.run and init.run_named are then
// errors; `db_path` places the token cache.
Preflight preflight(store::RunStore* db, const std::string& db_path, RunConfig& cfg);

// One training (micro-)batch exactly as the trainer builds it: deterministic in (seed, step,
// micro), so a resumed run replays the same data. Counts the presented positions into `stats` if
// given. Rows `first_row` .. first_row + rows - 1 of the `size` rows (rows < 0: all): a
// data-parallel rank builds its own rows, each the same as in one process with the whole batch.
data::Batch make_batch(PositionSampler& sampler, uint64_t seed, int64_t step, int64_t micro,
                       int64_t size, int64_t tokens_before, PositionStats* stats,
                       int64_t first_row = 0, int64_t rows = -1);

// The documents a config trains and validates on (the corpus split as the trainer splits it),
// tokenized with the config's tokenizer; with a cache folder, the ids are cached there.
data::Split load_run_split(const RunConfig& c, const std::string& cache_dir = "");
// "<db without extension>.cache" beside the store: tokenized corpora.
std::string cache_dir_for(const std::string& db_path);

// The model pieces the trainer and the benchmarks build from a config.
LanguageModel build_model(const RunConfig& c, WeightInit init = WeightInit::Random);
// build_optimizer's groups: 0 decayed matrices, 1 the rest, and with train.position_lr > 0
// 2 the position method's weights (pos.*), whose rate follows the schedule from position_lr.
inline constexpr size_t kPositionGroup = 2;
// AdamW over the trainable parameters (those `keep` accepts, when given: a ZeRO-1 rank's own).
std::unique_ptr<torch::optim::AdamW> build_optimizer(
    LanguageModel& model, const TrainConfig& t,
    const std::function<bool(const torch::Tensor&)>& keep = nullptr);

// "<db without extension>.runs/run-N" beside the store.
std::string run_dir_for(const std::string& db_path, int64_t run_id);

// The config a stored run was made with (the stored JSON minus its "_given" and "_resolved" notes).
RunConfig config_of_run(const store::RunRecord& run);

// Creates the run record (queued) and its folder; returns the id. Its device reads `device` when
// given (a torchrun launch: "cuda × 4"), else train.device.
int64_t create_run(store::RunStore& db, const RunConfig& cfg,
                   const nlohmann::json& config_as_given = nullptr,
                   std::optional<int64_t> study = std::nullopt, const std::string& device = "");

}  // namespace ctx
