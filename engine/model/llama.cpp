// The llama family: Hugging Face's LlamaForCausalLM computation (modeling_llama.py) on explicit
// position ids. Parameters are created empty; init_llama_weights fills them for training from
// scratch, a checkpoint otherwise.
#include "model/llama.h"

#include <torch/nn/functional/activation.h>
#include <torch/version.h>

#include <algorithm>
#include <cmath>

// ATen's rms_norm (2.4+; one fused kernel on CUDA from 2.8).
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#include <ATen/ops/rms_norm.h>
#define CTXLAB_ATEN_RMS_NORM 1
#endif

#include "model/attention.h"
#include "model/fused_norm.h"
#include "model/fused_ops.h"

namespace ctx {

namespace F = torch::nn::functional;

DenseImpl::DenseImpl(int64_t in, int64_t out, bool with_bias) {
  weight = register_parameter("weight", torch::empty({out, in}));
  if (with_bias) bias = register_parameter("bias", torch::empty({out}));
}

torch::Tensor DenseImpl::forward(const torch::Tensor& x) {
  auto y = torch::nn::functional::linear(x, weight, bias);
  if (!lora_A.defined()) return y;
  return y + torch::nn::functional::linear(torch::nn::functional::linear(x, lora_A), lora_B) * lora_scale;
}

void DenseImpl::add_lora(int64_t rank, double alpha) {
  const int64_t out = weight.size(0), in = weight.size(1);
  auto opts = weight.options();
  lora_A = register_parameter("lora_A", torch::empty({rank, in}, opts));
  lora_B = register_parameter("lora_B", torch::zeros({out, rank}, opts));
  torch::NoGradGuard ng;
  // As peft: A like a linear layer's default init (Kaiming-uniform, a = sqrt(5)), B zero, so the
  // adapted model starts as the base.
  const double bound = 1.0 / std::sqrt(static_cast<double>(in));
  lora_A.uniform_(-bound, bound);
  lora_scale = alpha / static_cast<double>(rank);
}

RMSNormImpl::RMSNormImpl(int64_t dim, double eps) : eps_(eps) {
  weight = register_parameter("weight", torch::ones({dim}));
}

torch::Tensor rms_norm_reference(const torch::Tensor& x, const torch::Tensor& weight, double eps) {
  auto h = x.to(torch::kFloat);
  h = h * torch::rsqrt(h.pow(2).mean(-1, true) + eps);
  return weight * h.to(x.scalar_type());
}

torch::Tensor RMSNormImpl::forward(const torch::Tensor& x) {
#ifdef CTXLAB_ATEN_RMS_NORM
  // The fused kernel keeps the statistics in fp32 and rounds once, where the reference rounds the
  // normalised input to x's dtype before the weight (equal in fp32; tested within bf16's step).
  if (x.is_cuda() && x.scalar_type() == weight.scalar_type()) {
    auto y = rms_norm_fused(x, weight, eps_);  // CtxLab's weight gradient (model/fused_norm.h)
    return y.defined() ? y : at::rms_norm(x, {weight.size(0)}, weight, eps_);
  }
#endif
  return rms_norm_reference(x, weight, eps_);
}

namespace {

Dense linear(int64_t in, int64_t out, bool bias) { return Dense(in, out, bias); }

// [B, T, H*Dh] -> [B, H, T, Dh]
torch::Tensor heads_first(const torch::Tensor& t, int64_t heads, int64_t dh) {
  return t.view({t.size(0), t.size(1), heads, dh}).transpose(1, 2);
}

}  // namespace

LlamaAttentionImpl::LlamaAttentionImpl(const ModelConfig& c)
    : heads(c.heads), kv_heads(c.kv_head_count()), head_dim(c.head_dim()) {
  const int64_t d = c.d_model;
  q_proj = register_module("q_proj", linear(d, heads * head_dim, c.qkv_bias));
  k_proj = register_module("k_proj", linear(d, kv_heads * head_dim, c.qkv_bias));
  v_proj = register_module("v_proj", linear(d, kv_heads * head_dim, c.qkv_bias));
  o_proj = register_module("o_proj", linear(heads * head_dim, d, c.o_bias));
}

LlamaMlpImpl::LlamaMlpImpl(const ModelConfig& c) {
  const int64_t d = c.d_model, f = c.ffn_width();
  gate_proj = register_module("gate_proj", linear(d, f, c.mlp_bias));
  up_proj = register_module("up_proj", linear(d, f, c.mlp_bias));
  down_proj = register_module("down_proj", linear(f, d, c.mlp_bias));
}

namespace {

// One matrix product for several dense layers that read the same input and carry no adapters: their
// weights (and biases) are stacked along the output dimension, and the product is cut back into one
// view per layer. The stacking copies weights (small beside the activations at training lengths)
// and lets the GEMM run on a wider N.
torch::Tensor stacked_product(const torch::Tensor& x, const std::vector<Dense>& layers) {
  std::vector<torch::Tensor> w, b;
  const bool biased = std::any_of(layers.begin(), layers.end(), [](const Dense& l) { return l->bias.defined(); });
  for (const auto& l : layers) {
    w.push_back(l->weight);
    if (biased)  // a zero bias for the layers without one
      b.push_back(l->bias.defined() ? l->bias : torch::zeros({l->weight.size(0)}, l->weight.options()));
  }
  return F::linear(x, torch::cat(w, 0), biased ? torch::cat(b, 0) : torch::Tensor());
}

bool fused_projections_on = true;

bool plain(const Dense& d) { return !d->lora_A.defined(); }

}  // namespace

bool fuse_projections() { return fused_projections_on; }
void set_fuse_projections(bool on) { fused_projections_on = on; }

torch::Tensor LlamaMlpImpl::forward(const torch::Tensor& x) {
  if (fuse_projections() && plain(gate_proj) && plain(up_proj)) {
    // [.., 2F] gate then up: SwiGLU in one kernel each way on CUDA (model/fused_ops.h)
    return down_proj(swiglu(stacked_product(x, {gate_proj, up_proj})));
  }
  return down_proj(F::silu(gate_proj(x)) * up_proj(x));
}

LlamaLayerImpl::LlamaLayerImpl(const ModelConfig& c, int64_t index) : index_(index) {
  self_attn_ = register_module("self_attn", LlamaAttention(c));
  mlp_ = register_module("mlp", LlamaMlp(c));
  input_layernorm_ = register_module("input_layernorm", RMSNorm(c.d_model, c.norm_eps));
  post_attention_layernorm_ =
      register_module("post_attention_layernorm", RMSNorm(c.d_model, c.norm_eps));
}

std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> LlamaLayerImpl::qkv(
    const torch::Tensor& h, const torch::Tensor& mem, PositionScheme& pos) {
  auto& a = *self_attn_;
  // Keys and values also see the cached states; position-infused schemes change the query and key
  // inputs, never the values.
  auto hk = mem.defined() ? torch::cat({mem, h}, 1) : h;
  const bool shared_input = !pos.infuses_qk() && !mem.defined();
  torch::Tensor q, k, v;
  if (shared_input && fuse_projections() && plain(a.q_proj) && plain(a.k_proj) && plain(a.v_proj)) {
    auto qkv = stacked_product(h, {a.q_proj, a.k_proj, a.v_proj});
    // One kernel each way where the scheme has it: cut, rotated, and one gradient for the product.
    auto parts = pos.split_rotated(qkv, a.heads, a.kv_heads, index_);
    if (parts.size() == 3) return {parts[0], parts[1], parts[2]};
    // split, not narrow: the gradient of a split is one cat, that of each narrow a zero-filled
    // full-size tensor (then summed).
    auto cut = qkv.split_with_sizes(
        {a.heads * a.head_dim, a.kv_heads * a.head_dim, a.kv_heads * a.head_dim}, -1);
    q = heads_first(cut[0], a.heads, a.head_dim);
    k = heads_first(cut[1], a.kv_heads, a.head_dim);
    v = heads_first(cut[2], a.kv_heads, a.head_dim);
  } else {
    auto [in_q, in_k] = shared_input ? std::make_pair(h, h) : pos.qk_inputs(h, hk, index_);
    q = heads_first(a.q_proj(in_q), a.heads, a.head_dim);
    k = heads_first(a.k_proj(in_k), a.kv_heads, a.head_dim);
    v = heads_first(a.v_proj(hk), a.kv_heads, a.head_dim);
  }
  pos.rotate(q, k, index_);
  return {q, k, v};  // k, v keep their kv_heads: attend() shares them across query heads
}

torch::Tensor LlamaLayerImpl::forward(const torch::Tensor& x, PositionScheme& pos,
                                      const torch::Tensor& mem, torch::Tensor* mem_out,
                                      int64_t chunk) {
  auto h0 = input_layernorm_(x);
  if (mem_out) *mem_out = h0.detach();
  auto [q, k, v] = qkv(h0, mem, pos);
  // Bias schemes read keys per query head (a key term); attend() shares grouped heads itself.
  auto bias = pos.biases_logits() ? pos.logit_bias(q, repeat_kv_heads(k, q.size(1)), index_)
                                  : torch::Tensor();
  auto a =
      chunk > 0 ? attend_chunked(q, k, v, bias, chunk) : attend(q, k, v, bias, true);  // B,Hq,T,Dh
  auto h = x + self_attn_->o_proj(a.transpose(1, 2).flatten(2));
  return h + mlp_(post_attention_layernorm_(h));
}

AttentionInputs LlamaLayerImpl::attention_inputs(const torch::Tensor& x, PositionScheme& pos) {
  auto [q, k, v] = qkv(input_layernorm_(x), {}, pos);
  const auto k_all = repeat_kv_heads(k, q.size(1));  // capture reads one key head per query head
  auto bias = pos.logit_bias(q, k_all, index_);  // right after qkv: iRPE reads what rotate stashed
  return {q, k_all, bias};
}

LlamaBodyImpl::LlamaBodyImpl(const ModelConfig& c, int64_t vocab) {
  embed_tokens = register_module("embed_tokens", std::make_shared<torch::nn::Module>());
  embed_weight = embed_tokens->register_parameter("weight", torch::empty({vocab, c.d_model}));
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.layers; ++i) layers->push_back(LlamaLayer(c, i));
  norm = register_module("norm", RMSNorm(c.d_model, c.norm_eps));
}

LlamaLMImpl::LlamaLMImpl(const ModelConfig& c, const nlohmann::json& rope_scaling, int64_t vocab)
    : LanguageModelImpl(c, vocab) {
  model_ = register_module("model", LlamaBody(c, vocab));
  if (!c.tie_embeddings) lm_head_ = register_module("lm_head", linear(c.d_model, vocab, false));
  pos_ = register_module("pos", make_position_scheme(c, rope_scaling));
}

torch::Tensor LlamaBodyImpl::embed(const torch::Tensor& tokens) { return torch::embedding(embed_weight, tokens); }

torch::Tensor LlamaLMImpl::head_weight() { return lm_head_ ? lm_head_->weight : model_->embed_weight; }

void init_llama_weights(LanguageModelImpl& model) {
  torch::NoGradGuard ng;
  for (auto& p : model.named_parameters()) {
    const auto& name = p.key();
    if (name.rfind("pos.", 0) == 0) continue;
    auto& t = p.value();
    if (name.find("norm.weight") != std::string::npos) {
      t.fill_(1.0);
    } else if (name.size() > 5 && name.compare(name.size() - 5, 5, ".bias") == 0) {
      t.zero_();
    } else {
      t.normal_(0, 0.02);
    }
  }
}

torch::Tensor LlamaLMImpl::hidden(const torch::Tensor& tokens, const torch::Tensor& positions,
                                  LayerMemory* memory) {
  pos_->prepare(positions);
  auto h = embed_input(tokens);
  if (memory) memory->resize(static_cast<size_t>(layer_count()));
  for (int64_t l = 0; l < layer_count(); ++l) {
    if (!memory) {
      h = run_layer_maybe_checkpointed(l, h, [this, l](const torch::Tensor& x) { return layer(l).forward(x, *pos_); });
      continue;
    }
    auto& slot = (*memory)[static_cast<size_t>(l)];
    torch::Tensor mem = slot.defined() && slot.size(0) == h.size(0) ? slot : torch::Tensor();
    h = layer(l).forward(h, *pos_, mem, &slot);
  }
  return model_->norm(h);
}

std::vector<std::pair<std::string, std::vector<int64_t>>> llama_parameter_shapes(
    const ModelConfig& c, int64_t vocab) {
  const int64_t d = c.d_model, f = c.ffn_width(), q = c.heads * c.head_dim(),
                kv = c.kv_head_count() * c.head_dim();
  std::vector<std::pair<std::string, std::vector<int64_t>>> out = {
      {"model.embed_tokens.weight", {vocab, d}}};
  for (int64_t l = 0; l < c.layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    auto linear = [&](const std::string& name, int64_t in, int64_t o, bool bias) {
      out.push_back({p + name + ".weight", {o, in}});
      if (bias) out.push_back({p + name + ".bias", {o}});
    };
    linear("self_attn.q_proj", d, q, c.qkv_bias);
    linear("self_attn.k_proj", d, kv, c.qkv_bias);
    linear("self_attn.v_proj", d, kv, c.qkv_bias);
    linear("self_attn.o_proj", q, d, c.o_bias);
    linear("mlp.gate_proj", d, f, c.mlp_bias);
    linear("mlp.up_proj", d, f, c.mlp_bias);
    linear("mlp.down_proj", f, d, c.mlp_bias);
    out.push_back({p + "input_layernorm.weight", {d}});
    out.push_back({p + "post_attention_layernorm.weight", {d}});
  }
  out.push_back({"model.norm.weight", {d}});
  if (!c.tie_embeddings) out.push_back({"lm_head.weight", {vocab, d}});
  return out;
}

}  // namespace ctx
