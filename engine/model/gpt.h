// The gpt family, CtxLab's own models: token embedding, N pre-norm blocks of (LayerNorm, causal
// multi-head attention with a fused qkv projection, LayerNorm, GELU MLP of ffn_mult x d_model),
// final LayerNorm, head tied to the embedding. Parameter names ("tok.weight",
// "blocks.N.wqkv.weight", ...) are the checkpoint format of every stored gpt run: keep them.
// Shapes: B batch, T tokens, d = d_model, H heads, Dh = d / H.
#pragma once

#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include "model/language_model.h"

namespace ctx {

class GptBlockImpl : public torch::nn::Module {
 public:
  GptBlockImpl(const ModelConfig& c, int64_t index);
  // `mem` (may be undefined): the previous window's normalised inputs [B, M, d]; `mem_out` receives
  // this window's (detached) when non-null.
  torch::Tensor forward(const torch::Tensor& x, PositionScheme& pos, const torch::Tensor& mem = {},
                        torch::Tensor* mem_out = nullptr);
  // Same computation through the explicit path, also returning attention probabilities [B,H,T,T].
  std::pair<torch::Tensor, torch::Tensor> forward_with_attention(const torch::Tensor& x,
                                                                 PositionScheme& pos);
  // Same computation with the queries taken `chunk` rows at a time against the keys before them, so
  // attention holds O(T * chunk) scores instead of T^2 (long-context capture on a CPU).
  torch::Tensor forward_chunked(const torch::Tensor& x, PositionScheme& pos, int64_t chunk);
  AttentionInputs attention_inputs(const torch::Tensor& x, PositionScheme& pos);

 private:
  std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> qkv(const torch::Tensor& h,
                                                              const torch::Tensor& mem,
                                                              PositionScheme& pos);
  torch::Tensor finish(const torch::Tensor& x, const torch::Tensor& a);  // output projection + MLP
  int64_t index_, heads_, head_dim_;
  torch::nn::LayerNorm ln1_{nullptr}, ln2_{nullptr};
  torch::nn::Linear wqkv_{nullptr}, wo_{nullptr}, up_{nullptr}, down_{nullptr};
};
TORCH_MODULE(GptBlock);

class GptLMImpl : public LanguageModelImpl {
 public:
  GptLMImpl(const ModelConfig& c, const nlohmann::json& rope_scaling, int64_t vocab);
  torch::Tensor hidden(const torch::Tensor& tokens, const torch::Tensor& positions,
                       LayerMemory* memory = nullptr) override;
  torch::Tensor head_weight() override { return tok_->weight; }
  int64_t layer_count() const override { return static_cast<int64_t>(blocks_->size()); }
  GptBlockImpl& block(int64_t l) { return *(*blocks_)[static_cast<size_t>(l)]->as<GptBlockImpl>(); }
  torch::nn::Embedding& embedding() { return tok_; }

 protected:
  torch::Tensor embed_input(const torch::Tensor& tokens) override {
    return pos_->embed(tok_(tokens));
  }
  AttentionInputs layer_attention_inputs(int64_t layer, const torch::Tensor& h) override {
    return block(layer).attention_inputs(h, *pos_);
  }
  torch::Tensor run_layer(int64_t layer, const torch::Tensor& h, int64_t chunk) override {
    return chunk > 0 ? block(layer).forward_chunked(h, *pos_, chunk)
                     : block(layer).forward(h, *pos_);
  }
  std::vector<torch::Tensor> layer_parameters(int64_t l) override { return block(l).parameters(); }

 private:
  torch::nn::Embedding tok_{nullptr};
  torch::nn::ModuleList blocks_;
  torch::nn::LayerNorm ln_f_{nullptr};
};

}  // namespace ctx
