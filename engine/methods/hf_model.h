// The model section of a config whose init is a Hugging Face folder: read from the folder's
// config.json (architecture, sizes, RoPE base and scaling), so that `init: {"hf": PATH}` is all a
// user writes. A rope_scaling block in the config replaces the folder's own.
#pragma once

#include "config/run_config.h"

namespace ctx {

// The ModelConfig and rope_scaling (Hugging Face dict or null) of a model folder; ConfigError
// naming the file for a folder CtxLab cannot use.
struct HfModelSection {
  ModelConfig model;
  nlohmann::json rope_scaling;
  std::string architecture;
  std::string dtype;  // the weights' dtype as config.json states it ("bfloat16", ...)
  int64_t parameters = 0;
};
HfModelSection read_hf_model_section(const std::string& folder);

// Fills c.model (unless `model_given`: then the given section must agree with the folder when the
// folder can still be read) and c.rope_scaling (unless `rope_given`) from c.init.hf.
void apply_hf_model(RunConfig& c, bool model_given, bool rope_given);

}  // namespace ctx
