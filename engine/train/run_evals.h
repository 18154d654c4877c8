// Perplexity evaluation of a run (at the end of training, or later on its latest checkpoint), each
// (mode, length) recorded in the store in one transaction with its per-position loss curve.
#pragma once

#include <string>
#include <vector>

#include "config/eval_results.h"
#include "config/run_config.h"
#include "data/corpus.h"
#include "model/language_model.h"
#include "store/run_store.h"
#include "train/events.h"

namespace ctx {

// Evaluates `model` at every (mode, length), skipping lengths past the position scheme's table
// with a warning; records each result at `step`.
std::vector<PplResult> run_evals(store::RunStore& db, int64_t run, int64_t step,
                                 LanguageModel& model, const RunConfig& c,
                                 const std::vector<data::Document>& val,
                                 const std::vector<int64_t>& lengths,
                                 const std::vector<std::string>& modes, const torch::Device& dev,
                                 EventSink& events);

// Evaluates a run's latest checkpoint at the given lengths and modes and records the results.
std::vector<PplResult> evaluate_run(store::RunStore& db, int64_t run_id,
                                    const std::vector<int64_t>& lengths,
                                    const std::vector<std::string>& modes, EventSink& events,
                                    const std::string& device_override = "");

}  // namespace ctx
