// A stored run's latest checkpoint loaded for evaluation by the verbs that read one (passkey,
// needle, kvretrieval, attention, ruler): its config, model on the device, and step.
#pragma once

#include <string>

#include "config/run_config.h"
#include "model/language_model.h"
#include "store/run_store.h"

namespace ctx::cli {

struct LoadedRun {
  RunConfig cfg;
  LanguageModel model{nullptr};
  int64_t step = 0;
  torch::Device device = torch::kCPU;
};

// Throws CheckpointError "run N has no checkpoint in 'DIR'" for a run without one; `device`
// overrides train.device when not empty.
LoadedRun load_run(store::RunStore& db, int64_t run, const std::string& device);

}  // namespace ctx::cli
