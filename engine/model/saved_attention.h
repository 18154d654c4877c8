// The attention tape: attention outputs kept through activation checkpointing.
//
// A checkpointed block (model/activation_checkpoint.h) runs twice: once without a graph, and again
// in the backward pass to differentiate it. At long lengths the attention core dominates that
// second forward (O(T²) against the projections' O(T)). While a block's first forward runs, the
// tape records each causal attention's output and log-sum-exp; the recomputation replays them and
// differentiates through the kernel's own backward, so the attention forward runs once per step.
// Cost: the output [B, T, H·Dh] in bf16 and the log-sum-exp [B, H, T] in fp32 per layer.
//
// Assumes: the block calls attention in the same order both times (it is a pure function of its
// input). Only CUDA bf16/fp16 causal calls without a bias and with Tq == Tk are taped; others are
// recomputed as before, as is everything when CTXLAB_RECOMPUTE_ATTENTION=1 (the A/B switch the
// bench uses) or when no kernel with a saved log-sum-exp is present (LibTorch 1.13, CPU).
#pragma once

#include <torch/types.h>

#include <memory>
#include <optional>

namespace ctx {

class AttentionTape;

// A fresh tape, or nullptr when taping is off (CTXLAB_RECOMPUTE_ATTENTION=1).
std::shared_ptr<AttentionTape> new_attention_tape();

// While alive, attention calls on this thread record to (or replay from) `tape`; nullptr: no-op.
class AttentionTapeScope {
 public:
  enum class Mode { record, replay };
  AttentionTapeScope(std::shared_ptr<AttentionTape> tape, Mode mode);
  ~AttentionTapeScope();
  AttentionTapeScope(const AttentionTapeScope&) = delete;
  AttentionTapeScope& operator=(const AttentionTapeScope&) = delete;

 private:
  std::shared_ptr<AttentionTape> previous_tape_;
  Mode previous_mode_;
};

// For attend(): causal attention of q [B, H, T, Dh] over k, v [B, Hkv, T, Dh] (Hkv divides H) when
// a tape is active on this thread and a kernel takes the call; nothing otherwise (the caller then
// computes attention itself). Recording returns the plain output; replaying returns the recorded
// output attached to a node whose backward is the kernel's.
std::optional<torch::Tensor> taped_attention(const torch::Tensor& q, const torch::Tensor& k,
                                             const torch::Tensor& v);

// Calls recorded / replayed in this process since start (tests and the bench read these).
struct TapeCounts {
  int64_t recorded = 0, replayed = 0;
};
TapeCounts attention_tape_counts();

}  // namespace ctx
