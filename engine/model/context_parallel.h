// Context parallelism inside the model. While a ShardedSequence scope is open, the layers' causal
// self-attention runs as ring attention over the installed ring (their inputs being this rank's
// zigzag part of every sequence), and rope scalings that depend on the length see the whole
// sequence's span of ids, not the part's. Process-wide, not per thread: the backward pass (and
// activation checkpointing's recomputation in it) runs on autograd's device threads.
// Shapes: B batch, T full length, N ring size, T / N tokens per rank.
#pragma once

#include <torch/types.h>

#include <memory>
#include <string>

#include "config/run_config.h"
#include "model/language_model.h"
#include "model/ring_attention.h"

namespace ctx {

// The ring sharded sequences attend over (null removes it). Set once per run by the distributed
// session; evaluation consults it too.
void install_ring(std::shared_ptr<RingComm> ring);
std::shared_ptr<RingComm> installed_ring();

// Opens the scope for one forward and backward of sharded sequences whose full position ids are
// `full_positions` [B, T] (the span rope scalings see: max id + 1, as RopeScheme computes it).
class ShardedSequence {
 public:
  explicit ShardedSequence(const torch::Tensor& full_positions);
  ~ShardedSequence();
  ShardedSequence(const ShardedSequence&) = delete;
  ShardedSequence& operator=(const ShardedSequence&) = delete;
};
bool sequence_sharded();
int64_t sharded_span();  // 0 when no scope is open

// The attention layers call inside a scope: ring attention for causal self-attention without a
// bias; anything else is refused with one line.
torch::Tensor sharded_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                const torch::Tensor& bias, bool causal);

// Per-token losses [B, T] of full windows: sharded over the installed ring when there is one,
// no memory is carried and T splits into 2N chunks (every rank of the ring calls it with the same
// windows); the model's own token_losses otherwise.
torch::Tensor context_parallel_token_losses(LanguageModel& model, const torch::Tensor& tokens,
                                            const torch::Tensor& positions, const torch::Tensor& targets,
                                            LayerMemory* memory);

// Why a model cannot train or evaluate context parallel, as one line naming the scheme; empty when
// it can. The ring carries no T x T logit bias (alibi, relative, irpe) and no previous window (pia
// with its cache).
std::string context_parallel_refusal(const ModelConfig& model);

}  // namespace ctx
