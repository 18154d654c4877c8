// Hugging Face folders as runs: what a folder holds (checked by the engine without loading any
// weights), importing one as a finished "pretrained" run, and exporting a run's latest checkpoint
// as a folder that transformers, vLLM or llama.cpp's converter load.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/run_config.h"
#include "store/run_store.h"

namespace ctx {

// Architecture, sizes, parameter count, native context, rope settings, tokenizer and weight files
// of `folder`, after checking config.json, the tokenizer and every weight's name and shape.
// Throws (ConfigError, HfWeightsError, TokenizerError...) with one line naming the file.
nlohmann::json inspect_hf_folder(const std::string& folder);

struct ImportedRun {
  int64_t run_id = 0;
  std::string name, dir;
  std::string how;  // "hard-linked" or "copied"
};
// Stores `folder` as a finished run named `name` (default: the folder's name) whose config
// evaluates on `corpus` (default builtin:longrange). The files are hard-linked into the run folder
// ("<run dir>/hf") when the store is on the same filesystem, copied otherwise: the run never
// depends on the original folder staying where it is. `info` is inspect_hf_folder's result. On any
// failure the run is removed again.
ImportedRun import_hf_folder(store::RunStore& db, const std::string& folder,
                             const nlohmann::json& info, const std::string& name,
                             const std::string& corpus);

// Writes run `rec`'s latest checkpoint to `out_dir` (which must not exist or be empty): config.json
// (the architecture's own fields, rope_theta, rope_scaling for the scalings transformers knows and
// a "ctxlab" section recording the method), safetensors in `dtype` ("" = the dtype the weights were
// published in, else fp32; sharded above 5 GB with an index) and the tokenizer files. Returns the
// file names written.
std::vector<std::string> export_run_to_hf(const store::RunRecord& rec, const RunConfig& cfg,
                                          const std::string& out_dir, const std::string& dtype);

// The Hugging Face rope_scaling of a resolved one, or null when transformers has no such scaling
// (clex, e2llm: recorded in the ctxlab section instead). Keys transformers does not read are
// dropped.
nlohmann::json hf_rope_scaling(const nlohmann::json& resolved);

}  // namespace ctx
