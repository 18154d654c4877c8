// Whether a corpus's validation split can supply what a config evaluates: every eval.lengths entry
// needs length + 1 tokens in one document, or in the documents joined (perplexity's packed mode).
// Checked before a run exists, so `check` and `train` refuse it instead of training and failing.
#pragma once

#include <vector>

#include "config/run_config.h"
#include "data/corpus.h"

namespace ctx {

// Throws DataError naming the key, the length and what the split holds.
void check_eval_supply(const EvalConfig& eval, const std::vector<data::Document>& validation);

}  // namespace ctx
