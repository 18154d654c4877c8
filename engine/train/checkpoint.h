// Checkpoints: model weights, optimizer state, step and the resolved config in one file, with a
// checksum verified on every load (io/checked_file.h), written to a temporary name and renamed, so
// a kill never leaves a half-written checkpoint and a damaged one is named, never loaded.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <torch/optim/adamw.h>

#include "config/input_error.h"
#include "model/language_model.h"

namespace ctx {

struct CheckpointError : InputError {
  using InputError::InputError;
};

struct CheckpointInfo {
  int64_t step = 0;
  std::string config_json;
  std::vector<std::string> fresh;  // position parameters the checkpoint lacked (kept at their init)
};

void save_checkpoint(const std::string& path, LanguageModel& model, torch::optim::AdamW* optim, int64_t step,
                     const std::string& config_json);
// Loads weights (and optimizer state when `optim` is given) from a CtxLab checkpoint file or a
// Hugging Face folder (weights only). Throws CheckpointError naming the file
// when it is missing, unreadable, damaged (checksum), or made for a different model shape.
// With `allow_new_position_params` (initialising a different method from a base run), position
// parameters the checkpoint lacks keep their own initialisation (CLEX's ODE with its zero down
// projection, iRPE's zero tables), and a scheme wrapping a base finds "pos.base.X" under "pos.X".
CheckpointInfo load_checkpoint(const std::string& path, LanguageModel& model, torch::optim::AdamW* optim = nullptr,
                               bool allow_new_position_params = false);
// Reads only the step and config (no model needed).
CheckpointInfo read_checkpoint_info(const std::string& path);

// "<dir>/ckpt-000300.pt"; the latest checkpoint in a run folder, if any: its newest step
// checkpoint, else the Hugging Face folder "<dir>/hf" of an imported run.
std::string checkpoint_path(const std::string& run_dir, int64_t step);
std::optional<std::string> latest_checkpoint(const std::string& run_dir);
// Imported runs keep their Hugging Face files in "<run dir>/hf". A checkpoint path that is a folder
// with config.json is such a folder (load_checkpoint reads its safetensors).
std::string hf_checkpoint_dir(const std::string& run_dir);
bool is_hf_checkpoint(const std::string& path);
// Keeps the newest `keep` step checkpoints in the folder.
void prune_checkpoints(const std::string& run_dir, int keep);

}  // namespace ctx
