// The transformer LM. GPT-2 style init (N(0, 0.02), residual projections scaled by 1/sqrt(2N)).
#include "model/transformer.h"

#include <cmath>

#include <torch/nn/functional/activation.h>
#include <torch/nn/functional/loss.h>
#include <torch/nn/init.h>

#include "model/attention.h"

namespace ctx {

namespace F = torch::nn::functional;

BlockImpl::BlockImpl(const ModelConfig& c, int64_t index)
    : index_(index), heads_(c.heads), head_dim_(c.head_dim()) {
  const int64_t d = c.d_model;
  ln1_ = register_module("ln1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})));
  ln2_ = register_module("ln2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})));
  wqkv_ = register_module("wqkv", torch::nn::Linear(torch::nn::LinearOptions(d, 3 * d).bias(false)));
  wo_ = register_module("wo", torch::nn::Linear(torch::nn::LinearOptions(d, d).bias(false)));
  up_ = register_module("up", torch::nn::Linear(torch::nn::LinearOptions(d, c.ffn_mult * d).bias(false)));
  down_ = register_module("down", torch::nn::Linear(torch::nn::LinearOptions(c.ffn_mult * d, d).bias(false)));
  torch::NoGradGuard ng;
  const double resid = 0.02 / std::sqrt(2.0 * static_cast<double>(c.layers));
  wqkv_->weight.normal_(0, 0.02);
  up_->weight.normal_(0, 0.02);
  wo_->weight.normal_(0, resid);
  down_->weight.normal_(0, resid);
}

std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> BlockImpl::qkv(const torch::Tensor& h, PositionScheme& pos) {
  const auto B = h.size(0), T = h.size(1);
  auto parts = wqkv_(h).view({B, T, 3, heads_, head_dim_}).permute({2, 0, 3, 1, 4});  // 3,B,H,T,Dh
  auto q = parts[0], k = parts[1], v = parts[2];
  pos.rotate(q, k, index_);
  return {q, k, v};
}

torch::Tensor BlockImpl::forward(const torch::Tensor& x, PositionScheme& pos) {
  auto [q, k, v] = qkv(ln1_(x), pos);
  auto bias = pos.logit_bias(q, k, index_);
  auto a = attend(q, k, v, bias, true);  // B,H,T,Dh
  auto h = x + wo_(a.transpose(1, 2).flatten(2));
  return h + down_(F::gelu(up_(ln2_(h))));
}

std::pair<torch::Tensor, torch::Tensor> BlockImpl::forward_with_attention(const torch::Tensor& x, PositionScheme& pos) {
  auto [q, k, v] = qkv(ln1_(x), pos);
  auto bias = pos.logit_bias(q, k, index_);
  auto [a, probs] = attend_explicit(q, k, v, bias, true);
  auto h = x + wo_(a.transpose(1, 2).flatten(2));
  return {h + down_(F::gelu(up_(ln2_(h)))), probs};
}

TransformerLMImpl::TransformerLMImpl(const ModelConfig& c, const nlohmann::json& rope_scaling, int64_t vocab)
    : cfg_(c) {
  tok_ = register_module("tok", torch::nn::Embedding(vocab, c.d_model));
  {
    torch::NoGradGuard ng;
    tok_->weight.normal_(0, 0.02);
  }
  pos_ = register_module("pos", make_position_scheme(c, rope_scaling));
  blocks_ = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.layers; ++i) blocks_->push_back(Block(c, i));
  ln_f_ = register_module("ln_f", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.d_model})));
}

torch::Tensor TransformerLMImpl::forward(const torch::Tensor& tokens, const torch::Tensor& positions) {
  pos_->prepare(positions);
  auto h = pos_->embed(tok_(tokens));
  for (auto& b : *blocks_) h = b->as<BlockImpl>()->forward(h, *pos_);
  return torch::matmul(ln_f_(h), tok_->weight.t());
}

torch::Tensor TransformerLMImpl::token_losses(const torch::Tensor& tokens, const torch::Tensor& positions,
                                              const torch::Tensor& targets) {
  auto logits = forward(tokens, positions);
  auto l = F::cross_entropy(logits.flatten(0, 1).to(torch::kFloat), targets.flatten(),
                            F::CrossEntropyFuncOptions().reduction(torch::kNone));
  return l.view_as(targets);
}

torch::Tensor TransformerLMImpl::loss(const torch::Tensor& tokens, const torch::Tensor& positions,
                                      const torch::Tensor& targets, const torch::Tensor& mask) {
  if (!mask.defined()) {
    auto logits = forward(tokens, positions);
    return F::cross_entropy(logits.flatten(0, 1).to(torch::kFloat), targets.flatten());
  }
  auto l = token_losses(tokens, positions, targets);
  return (l * mask).sum() / mask.sum().clamp_min(1.0);
}

int64_t TransformerLMImpl::parameter_count() const {
  int64_t n = 0;
  for (const auto& p : parameters()) n += p.numel();
  return n;
}

}  // namespace ctx
