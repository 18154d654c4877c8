// What every model family gives training, evaluation and analysis: logits (or the hidden states
// before the head) from tokens and explicit position ids, per-token losses, attention inputs per
// layer for capture, and its position scheme. Families are built by name through the registry in
// model_registry.cpp (gpt: CtxLab's own; llama: Llama/Mistral/Qwen2).
// Shapes: B batch, T tokens, d model width, V vocabulary, H heads, Dh head width.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <functional>
#include <string>
#include <vector>

#include "config/run_config.h"
#include "model/position_scheme.h"

namespace ctx {

// Per-layer inputs of the previous window (detached), for schemes that attend over them
// (Shortformer's cache). An empty vector means "no previous window yet".
using LayerMemory = std::vector<torch::Tensor>;

// What one layer's attention sees for input x, exactly as its forward computes it: rotated q and k
// [B, H, T, Dh] (k expanded to all query heads under grouped-query attention) and the additive
// logit bias [B|1, H|1, T, T] (undefined when the scheme has none).
struct AttentionInputs {
  torch::Tensor q, k, bias;
};

class LanguageModelImpl : public torch::nn::Module {
 public:
  // Final hidden states [B, T, d] after the last norm. With `memory`, every layer also attends over
  // the previous window's states and the memory is replaced by this window's.
  virtual torch::Tensor hidden(const torch::Tensor& tokens, const torch::Tensor& positions,
                               LayerMemory* memory = nullptr) = 0;
  // The output projection [V, d] (the embedding when tied).
  virtual torch::Tensor head_weight() = 0;
  // tokens [B, T] int64, positions [B, T] float -> logits [B, T, V].
  torch::Tensor forward(const torch::Tensor& tokens, const torch::Tensor& positions,
                        LayerMemory* memory = nullptr);
  // Mean cross-entropy over positions where mask > 0 (mask [B, T] float; undefined = all).
  torch::Tensor loss(const torch::Tensor& tokens, const torch::Tensor& positions,
                     const torch::Tensor& targets, const torch::Tensor& mask = {},
                     LayerMemory* memory = nullptr);
  // Per-token cross-entropy [B, T] (no reduction), for evaluation.
  torch::Tensor token_losses(const torch::Tensor& tokens, const torch::Tensor& positions,
                             const torch::Tensor& targets, LayerMemory* memory = nullptr);

  // Attention capture: runs the layers up to the last of `layers` (ascending, 0-based) and hands
  // each requested layer's attention inputs to `visit` before that layer runs; nothing above it
  // (nor the logits) is computed. With chunk > 0 the layers attend `chunk` query rows at a time.
  using AttentionVisitor = std::function<void(int64_t layer, const AttentionInputs&)>;
  void visit_attention(const torch::Tensor& tokens, const torch::Tensor& positions,
                       const std::vector<int64_t>& layers, const AttentionVisitor& visit,
                       int64_t chunk = 0);

  virtual int64_t layer_count() const = 0;
  // Activation checkpointing per layer while training with gradients (train.checkpointing).
  void set_checkpointing(bool on) { checkpointing_ = on; }
  // Rows per chunk of the loss (model/chunked_loss.h); 0 = chunked only when the logits of a
  // batch would exceed 256 MiB of fp32.
  void set_loss_chunk_rows(int64_t rows) { loss_chunk_rows_ = rows; }
  PositionScheme& position_scheme() { return *pos_; }
  int64_t parameter_count() const;
  int64_t vocab_size() const { return vocab_; }
  const ModelConfig& config() const { return cfg_; }

 protected:
  LanguageModelImpl(const ModelConfig& c, int64_t vocab) : cfg_(c), vocab_(vocab) {}
  // The pieces visit_attention walks through, per family.
  virtual torch::Tensor embed_input(const torch::Tensor& tokens) = 0;  // embedding + scheme.embed
  virtual AttentionInputs layer_attention_inputs(int64_t layer, const torch::Tensor& h) = 0;
  virtual torch::Tensor run_layer(int64_t layer, const torch::Tensor& h, int64_t chunk) = 0;

  // Runs one layer, through activation checkpointing when it is on and a graph is being built.
  torch::Tensor run_layer_maybe_checkpointed(int64_t layer, const torch::Tensor& h,
                                             const std::function<torch::Tensor(const torch::Tensor&)>& fn);
  virtual std::vector<torch::Tensor> layer_parameters(int64_t layer) = 0;

  ModelConfig cfg_;
  int64_t vocab_;
  std::shared_ptr<PositionScheme> pos_;
  bool checkpointing_ = false;
  int64_t loss_chunk_rows_ = 0;
  int64_t chunk_rows_for(int64_t rows) const;  // 0: the full logits fit the budget
};

class LanguageModel : public torch::nn::ModuleHolder<LanguageModelImpl> {
 public:
  using torch::nn::ModuleHolder<LanguageModelImpl>::ModuleHolder;
  LanguageModel() : ModuleHolder(nullptr) {}
};

// A model family: a name (config model.arch), how to build it and how to initialise it for
// training from scratch (null: its modules initialise themselves when built).
struct ModelFamily {
  std::string name;
  std::string doc;
  std::function<LanguageModel(const ModelConfig&, const nlohmann::json& rope_scaling,
                              int64_t vocab)>
      make;
  std::function<void(LanguageModelImpl&)> init;
};
const std::vector<ModelFamily>& model_family_registry();

// Random: weights as for training from scratch (seeded by the caller). Skip: whatever the
// allocation holds, for a model whose weights are loaded next (a 1B model builds in a second).
enum class WeightInit { Random, Skip };
// Builds c.arch's family with `vocab` outputs. Throws ConfigError for an unknown family.
LanguageModel make_language_model(const ModelConfig& c, const nlohmann::json& rope_scaling,
                                  int64_t vocab, WeightInit init = WeightInit::Random);

}  // namespace ctx
