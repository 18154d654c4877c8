// Activation checkpointing: a block runs without keeping its activations, and the backward pass
// runs it again to differentiate it, trading one extra forward for memory that no longer grows
// with the number of blocks. Assumes the block is a pure function of its input and `params` (the
// position scheme's per-forward tables are set once before the blocks and unchanged until
// backward).
#pragma once

#include <torch/types.h>

#include <functional>
#include <vector>

namespace ctx {

// fn(x) with its activations recomputed in the backward pass. `params` must list every tensor fn
// reads that needs a gradient (the block's weights, the position scheme's parameters).
torch::Tensor checkpointed(std::function<torch::Tensor(const torch::Tensor&)> fn,
                           const torch::Tensor& x, const std::vector<torch::Tensor>& params);

}  // namespace ctx
