// The llama family (Llama 2/3, Mistral, Qwen2, TinyLlama, SmolLM), laid out exactly as Hugging
// Face's LlamaForCausalLM so that parameter names are the checkpoint's own
// ("model.layers.0.self_attn.q_proj.weight", "lm_head.weight"): RMSNorm, separate q/k/v/o
// projections (optional q/k/v and o biases) with grouped-query attention, SwiGLU MLP, final
// RMSNorm, tied or untied head. Positions come from the model's position scheme (RoPE with HF's
// rotate-half pairing for imported models, any registered scheme otherwise).
// Shapes: B batch, T tokens, d = hidden size, Hq query heads, Hkv key/value heads, Dh head width.
#pragma once

#include <torch/nn/modules/container/modulelist.h>

#include "model/language_model.h"

namespace ctx {

// A dense layer y = x W^T + b whose parameters are created empty ("weight" [out, in], "bias"
// [out]): a 1B model is built in the time it takes to allocate it, and init_llama_weights or a
// checkpoint fills it. (torch::nn::Linear initialises on construction: ~10 s at 1B parameters.)
class DenseImpl : public torch::nn::Module {
 public:
  DenseImpl(int64_t in, int64_t out, bool bias);
  torch::Tensor forward(const torch::Tensor& x);
  // LoRA (model/lora.h): y += scale * (x A^T) B^T with "lora_A" [rank, in], "lora_B" [out, rank].
  void add_lora(int64_t rank, double alpha);
  torch::Tensor weight, bias, lora_A, lora_B;
  double lora_scale = 0;
};
TORCH_MODULE(Dense);

// q/k/v (and gate/up) as one matrix product over stacked weights where the layers share their
// input and carry no LoRA adapters (on by default; off computes each layer alone, the reference the
// tests compare with).
bool fuse_projections();
void set_fuse_projections(bool on);

// The reference RMSNorm below, whatever the device (the tests' yardstick for the fused kernel).
torch::Tensor rms_norm_reference(const torch::Tensor& x, const torch::Tensor& weight, double eps);

// Llama's RMSNorm: statistics in fp32, x * rsqrt(mean(x^2) + eps), then the weight (in x's dtype);
// on CUDA ATen's fused kernels (LibTorch 2.8+) with CtxLab's weight gradient (model/fused_norm.h),
// else ATen's rms_norm (2.4+).
class RMSNormImpl : public torch::nn::Module {
 public:
  RMSNormImpl(int64_t dim, double eps);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight;

 private:
  double eps_;
};
TORCH_MODULE(RMSNorm);

class LlamaAttentionImpl : public torch::nn::Module {
 public:
  LlamaAttentionImpl(const ModelConfig& c);
  Dense q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};
  int64_t heads, kv_heads, head_dim;
};
TORCH_MODULE(LlamaAttention);

class LlamaMlpImpl : public torch::nn::Module {
 public:
  LlamaMlpImpl(const ModelConfig& c);
  torch::Tensor forward(const torch::Tensor& x);  // down(silu(gate(x)) * up(x))
  Dense gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};
};
TORCH_MODULE(LlamaMlp);

class LlamaLayerImpl : public torch::nn::Module {
 public:
  LlamaLayerImpl(const ModelConfig& c, int64_t index);
  // `mem` (may be undefined): the previous window's normalised inputs [B, M, d] (Shortformer's
  // cache); `mem_out` receives this window's, detached. chunk > 0 attends `chunk` query rows at a
  // time.
  torch::Tensor forward(const torch::Tensor& x, PositionScheme& pos, const torch::Tensor& mem = {},
                        torch::Tensor* mem_out = nullptr, int64_t chunk = 0);
  AttentionInputs attention_inputs(const torch::Tensor& x, PositionScheme& pos);

 private:
  // q [B, Hq, T, Dh] and k, v [B, Hkv, Tk, Dh] (grouped: not repeated), position applied.
  std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> qkv(const torch::Tensor& h,
                                                              const torch::Tensor& mem,
                                                              PositionScheme& pos);
  int64_t index_;
  RMSNorm input_layernorm_{nullptr}, post_attention_layernorm_{nullptr};
  LlamaAttention self_attn_{nullptr};
  LlamaMlp mlp_{nullptr};
};
TORCH_MODULE(LlamaLayer);

// "model": embed_tokens, layers, norm (the Hugging Face module tree below the head).
class LlamaBodyImpl : public torch::nn::Module {
 public:
  LlamaBodyImpl(const ModelConfig& c, int64_t vocab);
  torch::Tensor embed(const torch::Tensor& tokens);  // rows of embed_tokens.weight
  std::shared_ptr<torch::nn::Module> embed_tokens;   // holds "weight" [vocab, d]
  torch::Tensor embed_weight;
  torch::nn::ModuleList layers;
  RMSNorm norm{nullptr};
};
TORCH_MODULE(LlamaBody);

class LlamaLMImpl : public LanguageModelImpl {
 public:
  LlamaLMImpl(const ModelConfig& c, const nlohmann::json& rope_scaling, int64_t vocab);
  torch::Tensor hidden(const torch::Tensor& tokens, const torch::Tensor& positions,
                       LayerMemory* memory = nullptr) override;
  torch::Tensor head_weight() override;
  int64_t layer_count() const override { return static_cast<int64_t>(model_->layers->size()); }
  LlamaLayerImpl& layer(int64_t l) {
    return *model_->layers[static_cast<size_t>(l)]->as<LlamaLayerImpl>();
  }

 protected:
  torch::Tensor embed_input(const torch::Tensor& tokens) override {
    return pos_->embed(model_->embed(tokens));
  }
  AttentionInputs layer_attention_inputs(int64_t l, const torch::Tensor& h) override {
    return layer(l).attention_inputs(h, *pos_);
  }
  torch::Tensor run_layer(int64_t l, const torch::Tensor& h, int64_t chunk) override {
    return layer(l).forward(h, *pos_, {}, nullptr, chunk);
  }
  std::vector<torch::Tensor> layer_parameters(int64_t l) override { return layer(l).parameters(); }

 private:
  LlamaBody model_{nullptr};
  Dense lm_head_{nullptr};  // null when tied
};

// Training from scratch: N(0, 0.02) weights and embeddings, zero biases, unit norms (as
// transformers initialises Llama). Position-scheme parameters keep their own initialisation.
void init_llama_weights(LanguageModelImpl& model);

// The parameters a llama model of this config has, by name, with their shapes (position-scheme
// parameters apart): what a Hugging Face folder must hold, checked without building the model.
std::vector<std::pair<std::string, std::vector<int64_t>>> llama_parameter_shapes(
    const ModelConfig& c, int64_t vocab);

}  // namespace ctx
