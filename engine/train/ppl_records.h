// One home for what a perplexity result leaves behind, shared by the corpus-window evaluation
// (run_evals) and long-document perplexity (longdoc_evals): its store records and its event.
// Assumes the caller holds the transaction (one per result, or one for a whole call).
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "config/eval_results.h"
#include "store/run_store.h"
#include "train/events.h"

namespace ctx {

// Records `r` at `step`: ppl, loss and tokens as evaluations (task "ppl", `mode`, x = length),
// each with `extra` as its JSON, and the per-position loss as artifact position_loss/<mode>/<length>.
void record_ppl_result(store::RunStore& db, int64_t run, int64_t step, const std::string& mode,
                       const PplResult& r, const nlohmann::json& extra);

// The event reporting `r` at `length` under `mode`; tokens/s counts every window's `length` tokens.
EvalEvent ppl_event(const std::string& mode, int64_t length, const PplResult& r);

}  // namespace ctx
