// Decoder-only pre-norm transformer LM: token embedding, N blocks of (norm, causal multi-head
// attention, norm, MLP), final norm, head tied to the embedding. Forward takes explicit position ids.
#pragma once

#include <functional>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include "model/position_scheme.h"
#include "train/run_config.h"

namespace ctx {

// Per-layer inputs of the previous window (detached), for schemes that attend over them
// (Shortformer's cache). An empty vector means "no previous window yet".
using LayerMemory = std::vector<torch::Tensor>;

class BlockImpl : public torch::nn::Module {
 public:
  BlockImpl(const ModelConfig& c, int64_t index);
  // `mem` (may be undefined): the previous window's normalised inputs [B, M, d]; `mem_out` receives
  // this window's (detached) when non-null.
  torch::Tensor forward(const torch::Tensor& x, PositionScheme& pos, const torch::Tensor& mem = {},
                        torch::Tensor* mem_out = nullptr);
  // Same computation through the explicit path, also returning attention probabilities [B,H,T,T].
  std::pair<torch::Tensor, torch::Tensor> forward_with_attention(const torch::Tensor& x, PositionScheme& pos);
  // Same computation with the queries taken `chunk` rows at a time against the keys before them, so
  // attention holds O(T * chunk) scores instead of T^2 (long-context capture on a CPU).
  torch::Tensor forward_chunked(const torch::Tensor& x, PositionScheme& pos, int64_t chunk);

  // What the attention of this block sees for input x, exactly as forward computes it: rotated
  // q, k [B,H,T,Dh] and the additive logit bias [B|1,H|1,T,T] (undefined when the scheme has none).
  struct AttentionInputs {
    torch::Tensor q, k, bias;
  };
  AttentionInputs attention_inputs(const torch::Tensor& x, PositionScheme& pos);

 private:
  std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> qkv(const torch::Tensor& h, const torch::Tensor& mem,
                                                              PositionScheme& pos);
  int64_t index_, heads_, head_dim_;
  torch::nn::LayerNorm ln1_{nullptr}, ln2_{nullptr};
  torch::nn::Linear wqkv_{nullptr}, wo_{nullptr}, up_{nullptr}, down_{nullptr};
};
TORCH_MODULE(Block);

class TransformerLMImpl : public torch::nn::Module {
 public:
  TransformerLMImpl(const ModelConfig& c, const nlohmann::json& rope_scaling, int64_t vocab);
  // tokens [B, T] int64, positions [B, T] float -> logits [B, T, vocab].
  // With `memory`, every layer also attends over the previous window's states and the memory is
  // replaced by this window's.
  torch::Tensor forward(const torch::Tensor& tokens, const torch::Tensor& positions, LayerMemory* memory = nullptr);
  // Mean cross-entropy over positions where mask > 0 (mask [B, T] float; undefined = all).
  torch::Tensor loss(const torch::Tensor& tokens, const torch::Tensor& positions, const torch::Tensor& targets,
                     const torch::Tensor& mask = {}, LayerMemory* memory = nullptr);
  // Per-token cross-entropy [B, T] (no reduction), for evaluation.
  torch::Tensor token_losses(const torch::Tensor& tokens, const torch::Tensor& positions, const torch::Tensor& targets,
                             LayerMemory* memory = nullptr);
  // Attention capture: runs the blocks up to the last of `layers` (ascending, 0-based) and hands each
  // requested layer's attention inputs to `visit` before that layer runs; nothing above it (nor the
  // logits) is computed. With chunk > 0 the blocks run through forward_chunked.
  using AttentionVisitor = std::function<void(int64_t layer, const BlockImpl::AttentionInputs&)>;
  void visit_attention(const torch::Tensor& tokens, const torch::Tensor& positions, const std::vector<int64_t>& layers,
                       const AttentionVisitor& visit, int64_t chunk = 0);
  int64_t layer_count() const { return static_cast<int64_t>(blocks_->size()); }
  PositionScheme& position_scheme() { return *pos_; }
  int64_t parameter_count() const;
  const ModelConfig& config() const { return cfg_; }

 private:
  ModelConfig cfg_;
  torch::nn::Embedding tok_{nullptr};
  std::shared_ptr<PositionScheme> pos_;
  torch::nn::ModuleList blocks_;
  torch::nn::LayerNorm ln_f_{nullptr};
};
TORCH_MODULE(TransformerLM);

}  // namespace ctx
