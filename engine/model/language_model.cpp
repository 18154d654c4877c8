// What all families share: logits through the head, losses in fp32, the attention-capture walk,
// and the family registry.
#include "model/language_model.h"

#include <torch/nn/functional/loss.h>

#include "model/activation_checkpoint.h"
#include "model/chunked_loss.h"
#include "model/gpt.h"
#include "model/llama.h"

namespace ctx {

namespace F = torch::nn::functional;

torch::Tensor LanguageModelImpl::forward(const torch::Tensor& tokens,
                                         const torch::Tensor& positions, LayerMemory* memory) {
  return torch::matmul(hidden(tokens, positions, memory), head_weight().t());
}

int64_t LanguageModelImpl::chunk_rows_for(int64_t rows) const {
  if (loss_chunk_rows_ > 0) return loss_chunk_rows_;
  const int64_t chunk = loss_chunk_rows(vocab_);
  return rows > chunk ? chunk : 0;
}

torch::Tensor LanguageModelImpl::token_losses(const torch::Tensor& tokens,
                                              const torch::Tensor& positions,
                                              const torch::Tensor& targets, LayerMemory* memory) {
  if (const int64_t chunk = chunk_rows_for(tokens.numel())) {
    auto h = hidden(tokens, positions, memory);
    return chunked_token_losses(h.flatten(0, 1), head_weight(), targets.flatten(), chunk)
        .view_as(targets);
  }
  auto logits = forward(tokens, positions, memory);
  auto l = F::cross_entropy(logits.flatten(0, 1).to(torch::kFloat), targets.flatten(),
                            F::CrossEntropyFuncOptions().reduction(torch::kNone));
  return l.view_as(targets);
}

torch::Tensor LanguageModelImpl::loss(const torch::Tensor& tokens, const torch::Tensor& positions,
                                      const torch::Tensor& targets, const torch::Tensor& mask,
                                      LayerMemory* memory) {
  if (const int64_t chunk = chunk_rows_for(tokens.numel())) {
    // No [B*T, V] logits: the loss and its gradients are computed a chunk of rows at a time.
    auto h = hidden(tokens, positions, memory);
    return chunked_cross_entropy(h.flatten(0, 1), head_weight(), targets.flatten(),
                                 mask.defined() ? mask.flatten() : torch::Tensor(), chunk);
  }
  if (!mask.defined()) {
    auto logits = forward(tokens, positions, memory);
    return F::cross_entropy(logits.flatten(0, 1).to(torch::kFloat), targets.flatten());
  }
  auto l = token_losses(tokens, positions, targets, memory);
  return (l * mask).sum() / mask.sum().clamp_min(1.0);
}

void LanguageModelImpl::visit_attention(const torch::Tensor& tokens, const torch::Tensor& positions,
                                        const std::vector<int64_t>& layers,
                                        const AttentionVisitor& visit, int64_t chunk) {
  if (layers.empty()) return;
  pos_->prepare(positions);
  auto h = embed_input(tokens);
  size_t next = 0;
  for (int64_t l = 0; l <= layers.back(); ++l) {
    if (next < layers.size() && layers[next] == l) {
      visit(l, layer_attention_inputs(l, h));
      ++next;
    }
    if (l == layers.back()) break;
    h = run_layer(l, h, chunk);
  }
}

torch::Tensor LanguageModelImpl::run_layer_maybe_checkpointed(
    int64_t layer, const torch::Tensor& h, const std::function<torch::Tensor(const torch::Tensor&)>& fn) {
  if (!checkpointing_ || !is_training() || !torch::GradMode::is_enabled()) return fn(h);
  std::vector<torch::Tensor> params;
  for (auto& p : layer_parameters(layer))
    if (p.requires_grad()) params.push_back(p);
  for (auto& p : pos_->parameters())
    if (p.requires_grad()) params.push_back(p);
  return checkpointed(fn, h, params);
}

int64_t LanguageModelImpl::parameter_count() const {
  int64_t n = 0;
  for (const auto& p : parameters()) n += p.numel();
  return n;
}

const std::vector<ModelFamily>& model_family_registry() {
  static const std::vector<ModelFamily> families = {
      {"gpt", "CtxLab's own: LayerNorm, fused qkv, GELU MLP, tied head",
       [](const ModelConfig& c, const nlohmann::json& rs, int64_t vocab) {
         return LanguageModel(std::static_pointer_cast<LanguageModelImpl>(
             std::make_shared<GptLMImpl>(c, rs, vocab)));
       },
       nullptr},
      {"llama",
       "Llama/Mistral/Qwen2: RMSNorm, grouped-query attention, SwiGLU, tied or untied head",
       [](const ModelConfig& c, const nlohmann::json& rs, int64_t vocab) {
         return LanguageModel(std::static_pointer_cast<LanguageModelImpl>(
             std::make_shared<LlamaLMImpl>(c, rs, vocab)));
       },
       [](LanguageModelImpl& m) { init_llama_weights(m); }},
  };
  return families;
}

LanguageModel make_language_model(const ModelConfig& c, const nlohmann::json& rope_scaling,
                                  int64_t vocab, WeightInit init) {
  for (const auto& f : model_family_registry()) {
    if (f.name != c.arch) continue;
    auto m = f.make(c, rope_scaling, vocab);
    if (init == WeightInit::Random && f.init) f.init(*m);
    return m;
  }
  throw ConfigError("model.arch: no model family '" + c.arch + "'");
}

}  // namespace ctx
