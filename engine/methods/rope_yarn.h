// YaRN pieces shared by the "yarn" and "dynamic_yarn" RoPE scalings (METHODS.md §8.4): the
// Hugging Face parameter set, checks, and NTK-by-parts frequencies at a given scale s.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "methods/param_spec.h"
#include "methods/registry.h"
#include "methods/rope_scaling.h"

namespace ctx {

// HF yarn keys; `factor` gets the caller's spec (required for yarn, minimum scale for
// dynamic_yarn).
std::vector<ParamSpec> yarn_param_specs(const ParamSpec& factor);

// Checks beyond ranges (beta_fast > beta_slow > 0): "" or "key: reason".
std::string yarn_validate(const nlohmann::json& params, const MethodContext& ctx);

// HF get_mscale: 1 if scale <= 1, else 0.1 * mscale * ln(scale) + 1.
double yarn_get_mscale(double scale, double mscale = 1.0);

// Frequencies and attention factor of YaRN at scale `s` from resolved yarn params (the params'
// own `factor` is not read). Resolved: factor (= s), original_max_position_embeddings, beta_fast,
// beta_slow, truncate, low, high, attention_factor.
RopeFreqs yarn_frequencies(const nlohmann::json& params, const RopeBase& base, double s);

}  // namespace ctx
