// What a model config costs in memory, estimated from its shape before anything is allocated, so
// that `check` and `train` refuse a model the machine cannot hold instead of failing (or being
// killed) while building it.
#pragma once

#include <cstdint>

#include "config/run_config.h"

namespace ctx {

// Parameters of model `m` with `vocab` token ids (embeddings, blocks, head, position tables);
// a double, since hostile shapes overflow 64-bit integers.
double estimate_parameters(const ModelConfig& m, int64_t vocab);

// Throws ConfigError naming the shape when training it on the CPU (float32 weights, gradients and
// AdamW's two moments: 16 bytes a parameter) needs more than `memory_bytes` (0 = this machine's
// physical memory). GPU runs are not checked here: their memory is the device's.
void check_model_fits(const RunConfig& c, int64_t vocab, double memory_bytes = 0);

}  // namespace ctx
