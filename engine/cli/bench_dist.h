// bench --shape under torchrun (or with --context-parallel / --max-length): the distributed
// training step's global tokens/s, MFU per GPU, peak memory per rank, longest trainable sequence.
#pragma once

#include <cstdint>
#include <string>

#include "cli/cli_common.h"
#include "train/distributed.h"

namespace ctx::cli {

struct BenchDistArgs {
  std::string shape, device = "cuda", precision = "bf16";
  int64_t context_parallel = 1, steps = 20;
  bool max_length = false;
};

// `env` of one process (no torchrun) runs a group of one.
int cmd_bench_shape_dist(const Common& c, const DistEnv& env, const BenchDistArgs& a);

}  // namespace ctx::cli
