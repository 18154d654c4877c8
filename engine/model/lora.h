// LoRA on the llama family (Hu et al. 2021; LongLoRA's trainable embeddings and norms as options):
// adapters on the named projections, everything else frozen, and merging the adapters into the
// weights (W += alpha/rank B A) for export. Assumes the adapters were added before any checkpoint
// holding them is loaded.
#pragma once

#include <string>

#include "config/run_config.h"
#include "model/language_model.h"

namespace ctx {

// Adds adapters to every Dense projection whose name is one of cfg.targets and sets requires_grad:
// adapters, position-scheme parameters, and (when asked) the embedding, untied head and norms
// train; every other weight is frozen. Returns the number of adapted projections.
int64_t apply_lora(LanguageModelImpl& model, const LoraConfig& cfg);

// W += scale * B A in every adapted projection, then B = 0: the logits are unchanged and the base
// weights alone now give them (export writes those, without the adapters).
void merge_lora(LanguageModelImpl& model);

// Whether a parameter name is a LoRA adapter ("...q_proj.lora_A").
bool is_lora_parameter(const std::string& name);

}  // namespace ctx
