// The one attention wrapper: the fused kernel where LibTorch has it (public SDPA in 2.x, the
// private op in 1.13), an explicit softmax path when probabilities or a float bias are needed.
#pragma once

#include <torch/types.h>

namespace ctx {

// q: [B, H, Tq, Dh]; k, v: [B, Hkv, Tk, Dh] with Hkv dividing H (grouped-query attention: key/value
// head g serves query heads g*H/Hkv ..; SDPA shares them without copies where it can). k/v may be
// longer than q: Tk >= Tq, queries aligned to the end.
// bias: additive logits [B|1, H|1, Tq, Tk] or undefined. Causal masking aligns query i with
// key i + (Tk - Tq). Scale is 1/sqrt(Dh).
torch::Tensor attend(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                     const torch::Tensor& bias, bool causal);

// Causal attention with the queries taken `chunk` rows at a time against the keys before them, so
// at most [B, H, chunk, Tk] scores exist at once (long sequences, logit-bias schemes on a CPU).
// q [B, H, T, Dh], k, v [B, Hkv, T, Dh] (Tq == Tk); bias as for attend.
torch::Tensor attend_chunked(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                             const torch::Tensor& bias, int64_t chunk);

// Explicit path that also returns the probabilities [B, H, Tq, Tk] (attention capture, tests).
std::pair<torch::Tensor, torch::Tensor> attend_explicit(const torch::Tensor& q, const torch::Tensor& k,
                                                        const torch::Tensor& v, const torch::Tensor& bias,
                                                        bool causal);

// Grouped-query attention the long way, for the paths that need one key/value head per query head
// (explicit probabilities, logit-bias schemes, kernels without GQA): t [B, Hkv, T, Dh] with Hkv
// dividing `heads`, key/value head g copied for query heads g*rep .. g*rep+rep-1 (HF's repeat_kv);
// t itself when Hkv == heads.
torch::Tensor repeat_kv_heads(const torch::Tensor& t, int64_t heads);

}  // namespace ctx
