// Cross-entropy from the final hidden states without a [tokens, vocab] logits tensor: the rows are
// scored a chunk at a time, and the training loss computes its gradients chunk by chunk in the
// forward pass (as Liger's fused linear cross-entropy does), keeping only the gradients of the
// hidden states and of the head. 32k tokens x 128k vocabulary would otherwise be 16 GB of fp32.
// Shapes: N rows (B x T flattened), d model width, V vocabulary.
#pragma once

#include <torch/types.h>

#include <cstdint>

namespace ctx {

// Mean over rows of weight_i * CE(hidden_i W^T, target_i) / sum(weight) (weights undefined = 1).
// hidden [N, d], W [V, d], targets [N] int64, weights [N] float or undefined. Logits in fp32.
torch::Tensor chunked_cross_entropy(const torch::Tensor& hidden, const torch::Tensor& W,
                                    const torch::Tensor& targets, const torch::Tensor& weights,
                                    int64_t chunk_rows);

// Per-row CE [N] (fp32), no gradients: evaluation.
torch::Tensor chunked_token_losses(const torch::Tensor& hidden, const torch::Tensor& W,
                                   const torch::Tensor& targets, int64_t chunk_rows);

// Chunks that went through CtxLab's fused CUDA kernel (model/cuda/cross_entropy.h) in this
// process: bf16 logits on CUDA with gradients wanted, unless CTXLAB_CE=aten (read at each call).
int64_t fused_cross_entropy_chunks();

// Rows per chunk such that one chunk's fp32 logits stay near `budget_bytes` (default 256 MiB).
int64_t loss_chunk_rows(int64_t vocab, int64_t budget_bytes = int64_t{256} << 20);

}  // namespace ctx
