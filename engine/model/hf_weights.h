// Hugging Face weights in and out of a llama-family model: safetensors tensors copied into the
// model's parameters one at a time (converted to the parameter's dtype, the mapped pages released
// after each, so peak memory is one copy of the model), and the parameters written back as
// safetensors (sharded above 5 GB, as transformers does). Position-scheme parameters that
// transformers does not know (CLEX's ODE) travel in ctxlab_position.safetensors beside them.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "model/language_model.h"
#include "config/input_error.h"

namespace ctx {

// One line naming the folder (or file) and what is wrong.
struct HfWeightsError : InputError {
  using InputError::InputError;
};

struct HfLoadReport {
  int64_t tensors = 0;
  uint64_t bytes = 0;                // bytes read from the files
  std::vector<std::string> ignored;  // tensors in the files the model has no use for
  std::vector<std::string> fresh;    // position parameters absent from the folder (kept at init)
};

// Loads `folder`'s weights into `model` (any device, any dtype). Names are Hugging Face's
// ("model.layers.0.self_attn.q_proj.weight"); a tied model ignores a stored lm_head.weight, as
// transformers does. Missing tensors, unexpected tensors and shape mismatches are errors listing
// the first few names. Position parameters ("pos.*") come from ctxlab_position.safetensors when
// the folder has it; otherwise they stay at their initialisation.
HfLoadReport load_hf_weights(const std::string& folder, LanguageModel& model);

// Checks, from the safetensors headers alone, that `folder` holds exactly the tensors `expected`
// names with their shapes (a tied model may carry an lm_head.weight, which is ignored): what
// load_hf_weights would refuse, found without reading or converting any weights.
void verify_hf_weights(const std::string& folder,
                       const std::vector<std::pair<std::string, std::vector<int64_t>>>& expected,
                       bool tied);

// The dtype a folder should be exported in: "bf16", "fp16" or "fp32".
enum class ExportDtype { F32, BF16, F16 };
ExportDtype parse_export_dtype(
    const std::string& name);              // "fp32"|"float32", "bf16"|"bfloat16", "fp16"|"float16"
std::string hf_dtype_name(ExportDtype d);  // "float32", "bfloat16", "float16"

// Writes the model's weights (position parameters apart) into `folder` as model.safetensors, or
// shards of at most `max_shard_bytes` plus model.safetensors.index.json. Returns the files written.
std::vector<std::string> export_hf_weights(LanguageModel& model, const std::string& folder,
                                           ExportDtype dtype,
                                           uint64_t max_shard_bytes = 5'000'000'000);

}  // namespace ctx
