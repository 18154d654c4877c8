// The gpt family. GPT-2 style init (N(0, 0.02), residual projections scaled by 1/sqrt(2N)).
#include "model/gpt.h"

#include <torch/nn/functional/activation.h>
#include <torch/nn/init.h>

#include <algorithm>
#include <cmath>

#include "model/attention.h"

namespace ctx {

namespace F = torch::nn::functional;

GptBlockImpl::GptBlockImpl(const ModelConfig& c, int64_t index)
    : index_(index), heads_(c.heads), head_dim_(c.head_dim()) {
  const int64_t d = c.d_model;
  ln1_ = register_module("ln1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})));
  ln2_ = register_module("ln2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})));
  wqkv_ =
      register_module("wqkv", torch::nn::Linear(torch::nn::LinearOptions(d, 3 * d).bias(false)));
  wo_ = register_module("wo", torch::nn::Linear(torch::nn::LinearOptions(d, d).bias(false)));
  up_ = register_module("up",
                        torch::nn::Linear(torch::nn::LinearOptions(d, c.ffn_width()).bias(false)));
  down_ = register_module(
      "down", torch::nn::Linear(torch::nn::LinearOptions(c.ffn_width(), d).bias(false)));
  torch::NoGradGuard ng;
  const double resid = 0.02 / std::sqrt(2.0 * static_cast<double>(c.layers));
  wqkv_->weight.normal_(0, 0.02);
  up_->weight.normal_(0, 0.02);
  wo_->weight.normal_(0, resid);
  down_->weight.normal_(0, resid);
}

std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> GptBlockImpl::qkv(const torch::Tensor& h,
                                                                          const torch::Tensor& mem,
                                                                          PositionScheme& pos) {
  const auto B = h.size(0), T = h.size(1);
  if (!mem.defined() && !pos.infuses_qk()) {
    auto parts =
        wqkv_(h).view({B, T, 3, heads_, head_dim_}).permute({2, 0, 3, 1, 4});  // 3,B,H,T,Dh
    auto q = parts[0], k = parts[1], v = parts[2];
    pos.rotate(q, k, index_);
    return {q, k, v};
  }
  // Separate projections: keys and values also see the cached states, and position-infused
  // schemes change the query/key inputs but not the values.
  auto hk = mem.defined() ? torch::cat({mem, h}, 1) : h;
  auto [in_q, in_k] = pos.qk_inputs(h, hk, index_);
  auto w = wqkv_->weight.chunk(3, 0);
  const auto Tk = hk.size(1);
  auto split = [&](const torch::Tensor& t, int64_t len) {
    return t.view({B, len, heads_, head_dim_}).transpose(1, 2);
  };
  auto q = split(torch::matmul(in_q, w[0].t()), T);
  auto k = split(torch::matmul(in_k, w[1].t()), Tk);
  auto v = split(torch::matmul(hk, w[2].t()), Tk);
  pos.rotate(q, k, index_);
  return {q, k, v};
}

torch::Tensor GptBlockImpl::forward(const torch::Tensor& x, PositionScheme& pos,
                                    const torch::Tensor& mem, torch::Tensor* mem_out) {
  auto h0 = ln1_(x);
  if (mem_out) *mem_out = h0.detach();
  auto [q, k, v] = qkv(h0, mem, pos);
  auto bias = pos.logit_bias(q, k, index_);
  return finish(x, attend(q, k, v, bias, true));  // a: B,H,T,Dh
}

torch::Tensor GptBlockImpl::finish(const torch::Tensor& x, const torch::Tensor& a) {
  auto h = x + wo_(a.transpose(1, 2).flatten(2));
  return h + down_(F::gelu(up_(ln2_(h))));
}

std::pair<torch::Tensor, torch::Tensor> GptBlockImpl::forward_with_attention(const torch::Tensor& x,
                                                                             PositionScheme& pos) {
  auto [q, k, v] = qkv(ln1_(x), {}, pos);
  auto bias = pos.logit_bias(q, k, index_);
  auto [a, probs] = attend_explicit(q, k, v, bias, true);
  return {finish(x, a), probs};
}

torch::Tensor GptBlockImpl::forward_chunked(const torch::Tensor& x, PositionScheme& pos,
                                            int64_t chunk) {
  auto [q, k, v] = qkv(ln1_(x), {}, pos);
  return finish(x, attend_chunked(q, k, v, pos.logit_bias(q, k, index_), chunk));
}

AttentionInputs GptBlockImpl::attention_inputs(const torch::Tensor& x, PositionScheme& pos) {
  auto [q, k, v] = qkv(ln1_(x), {}, pos);
  auto bias = pos.logit_bias(q, k, index_);  // right after qkv: iRPE reads what rotate stashed
  return {q, k, bias};
}

GptLMImpl::GptLMImpl(const ModelConfig& c, const nlohmann::json& rope_scaling, int64_t vocab)
    : LanguageModelImpl(c, vocab) {
  tok_ = register_module("tok", torch::nn::Embedding(vocab, c.d_model));
  {
    torch::NoGradGuard ng;
    tok_->weight.normal_(0, 0.02);
  }
  pos_ = register_module("pos", make_position_scheme(c, rope_scaling));
  blocks_ = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.layers; ++i) blocks_->push_back(GptBlock(c, i));
  ln_f_ = register_module("ln_f", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.d_model})));
}

torch::Tensor GptLMImpl::hidden(const torch::Tensor& tokens, const torch::Tensor& positions,
                                LayerMemory* memory) {
  pos_->prepare(positions);
  auto h = embed_input(tokens);
  if (memory) memory->resize(blocks_->size());
  for (int64_t l = 0; l < layer_count(); ++l) {
    if (!memory) {
      h = run_layer_maybe_checkpointed(l, h, [this, l](const torch::Tensor& x) { return block(l).forward(x, *pos_); });
      continue;
    }
    auto& slot = (*memory)[static_cast<size_t>(l)];
    // A previous window of another batch size (last partial batch) cannot be attended to.
    torch::Tensor mem = slot.defined() && slot.size(0) == h.size(0) ? slot : torch::Tensor();
    h = block(l).forward(h, *pos_, mem, &slot);
  }
  return ln_f_(h);
}

}  // namespace ctx
