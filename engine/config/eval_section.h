// The "eval" section of a run config: perplexity lengths and modes, the retrieval requests
// (eval.passkey, eval.needle, eval.kvretrieval), the RULER suite (eval.ruler) and attention capture
// during training; its JSON in the resolved config. Internal to engine/config.
#pragma once

#include <nlohmann/json.hpp>

#include "config/run_config.h"

namespace ctx::sections {

void parse_eval(const nlohmann::json& j, EvalConfig& e);
nlohmann::json eval_json(const EvalConfig& e);

}  // namespace ctx::sections
