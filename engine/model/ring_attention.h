// Ring attention for context parallelism: one causal sequence split over the N ranks of a ring in
// zigzag order (rank i holds chunks i and 2N-1-i of 2N), key/value blocks passed around the ring,
// partial outputs merged by their log-sum-exps; the backward pass runs the ring again with the
// saved log-sum-exps and sends each key/value block's gradient home (as ring-flash-attention does).
// Causality is by token index in the full sequence; position ids never enter (each rank rotates its
// own tokens' q and k before), so every position scheme without a logit bias works unchanged.
// Shapes: B batch, H heads, T full length, n = T / N local tokens, c = n / 2 chunk, D head width.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

namespace ctx {

// --- the plain pieces (no communication) -------------------------------------------------------

// Merges a block's attention into the running one, in place: out [.., t, D] and lse [.., t] (fp32)
// become the attention over the union of both key sets. o_b [.., t, D], lse_b [.., t].
void merge_attention_block(torch::Tensor& out, torch::Tensor& lse, const torch::Tensor& o_b,
                           const torch::Tensor& lse_b);

// Attention of q [B, H, tq, D] over k, v [B, H, tk, D] with its log-sum-exp: (out fp32 [B, H, tq, D],
// lse fp32 [B, H, tq]). Causal: query r sees keys 0..r (tq == tk). Scale 1/sqrt(D). Rows are taken
// `row_chunk` at a time (0 = all), so at most [B, H, row_chunk, tk] scores exist at once. Uses the
// flash kernel where LibTorch has one for these tensors (CUDA, bf16/fp16), exact softmax elsewhere.
std::pair<torch::Tensor, torch::Tensor> attention_block(const torch::Tensor& q, const torch::Tensor& k,
                                                        const torch::Tensor& v, bool causal,
                                                        int64_t row_chunk = 0);

// Gradients of one block given the final (merged) output's log-sum-exp `lse` [B, H, tq] and
// delta = rowsum(dO * O) [B, H, tq] (fp32): (dq, dk, dv), fp32.
struct BlockGrads {
  torch::Tensor dq, dk, dv;
};
BlockGrads attention_block_backward(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                    const torch::Tensor& out, const torch::Tensor& grad_out,
                                    const torch::Tensor& lse, const torch::Tensor& delta, bool causal,
                                    int64_t row_chunk = 0);

// Zigzag layout: the indices (into the full T) of rank `rank`'s tokens, ascending: chunk `rank`
// then chunk 2N-1-rank. T must be a multiple of 2N.
std::vector<int64_t> zigzag_indices(int64_t T, int64_t n_ranks, int64_t rank);
// x's rank-`rank` part along `dim` ([.., T, ..] -> [.., T / N, ..]); and back: the full tensor from
// every rank's part, in rank order.
torch::Tensor zigzag_shard(const torch::Tensor& x, int64_t n_ranks, int64_t rank, int64_t dim = 1);
torch::Tensor zigzag_unshard(const std::vector<torch::Tensor>& parts, int64_t dim = 1);

// Which block rank `rank` computes when it holds the keys of rank `owner`: all of its queries
// against all keys, causally (its own keys); all queries against the owner's first chunk (an
// earlier rank); or its second chunk of queries against all keys (a later rank).
enum class RingBlock { Diagonal, AllQueriesFirstKeys, LastQueriesAllKeys };
RingBlock ring_block(int64_t rank, int64_t owner);

// The ring's result computed in one process, for tests: every rank's local output in turn, from
// the same blocks and merge as the ring. q, k, v [B, H, T, D] full; returns [B, H, T, D].
torch::Tensor ring_attention_reference(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                       int64_t n_ranks);

// --- the ring ------------------------------------------------------------------------------------

class RingTransfer {
 public:
  virtual ~RingTransfer() = default;
  virtual void wait() = 0;  // throws when a peer failed or the collective timed out
};

// The communication a ring needs, implemented over a c10d process group (train/distributed.cpp).
class RingComm {
 public:
  virtual ~RingComm() = default;
  virtual int rank() const = 0;  // position in the ring
  virtual int size() const = 0;
  // Starts sending `send` to the next rank and receiving the previous rank's tensor into `recv`
  // (same shape and dtype, contiguous). `tag` keeps two exchanges in flight apart.
  virtual std::unique_ptr<RingTransfer> exchange(const torch::Tensor& send, torch::Tensor& recv,
                                                 int tag) = 0;
  // Every rank's `local` in rank order: parts[r] has local's shape.
  virtual std::vector<torch::Tensor> all_gather(const torch::Tensor& local) = 0;
};

// Causal attention of this rank's zigzag part q, k, v [B, H, n, D] over the whole sequence, with
// gradients through the ring. Output in q's dtype.
torch::Tensor ring_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                             const std::shared_ptr<RingComm>& ring);

}  // namespace ctx
