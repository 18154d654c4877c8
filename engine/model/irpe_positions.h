// iRPE (Wu et al. 2021), the 1-D causal adaptation of METHODS.md §7b: relative-position tables
// indexed by a log-bucketed distance, as a logit bias (scalar per bucket) or contextual q.r / k.r
// terms, added on top of a base scheme (nope, rope or learned) that it wraps.
#pragma once

#include <string>
#include <vector>

#include "model/position_scheme.h"

namespace ctx {

// The reference `piecewise_index` g(x) for one value: round(x) (half to even) for |x| <= alpha,
// else sign(x) * trunc(min(beta, round(alpha + ln(|x|/alpha) / ln(gamma/alpha) * (beta - alpha)))).
int64_t irpe_piecewise_index(double x, double alpha, double beta, double gamma);
// The same elementwise on a float tensor (any shape), as int64; computed in float64.
torch::Tensor irpe_piecewise_index(const torch::Tensor& x, double alpha, double beta, double gamma);

class IrpePositions : public PositionScheme {
 public:
  // Reads mode, on, shared_heads, alpha, beta, gamma, sink_bucket, base, rope_theta from
  // model.position_params (registry-resolved); rope_scaling goes to a rope base.
  IrpePositions(const ModelConfig& model, const nlohmann::json& rope_scaling);
  void prepare(const torch::Tensor& positions) override;
  torch::Tensor embed(const torch::Tensor& h) override;
  void rotate(torch::Tensor& q, torch::Tensor& k, int64_t layer) override;
  bool biases_logits() const override { return true; }
  torch::Tensor logit_bias(const torch::Tensor& q, const torch::Tensor& k, int64_t layer) override;
  int64_t max_position() const override;
  // "base.<name>" goes to the base scheme (a learned base's table stretched to more rows); iRPE's
  // own tables have a fixed bucket count and are never adapted.
  torch::Tensor adapt_loaded(const std::string& name, const torch::Tensor& loaded) override;
  nlohmann::json describe() const override;

  // B = floor(beta): distances map to buckets 0..B; the sink bucket (if on) is B + 1.
  int64_t max_bucket() const { return max_bucket_; }
  int64_t num_buckets() const { return max_bucket_ + 1 + (sink_ ? 1 : 0); }
  // The bucket of every (query, key) pair of the last prepare(): [B, 1, T, T] int64.
  const torch::Tensor& bucket_index() const { return idx_; }
  // Tables of one layer: contextual "k"/"q" [1|H, Dh, buckets], bias "bias" [1|H, buckets].
  torch::Tensor table(const std::string& site, int64_t layer) const;
  PositionScheme* base() const { return base_.get(); }

 private:
  torch::Tensor buckets_of(const torch::Tensor& distances);  // [..] float64 >= 0 -> int64 buckets
  bool contextual_, on_q_, on_k_, shared_, sink_;
  double alpha_, beta_, gamma_;
  int64_t max_bucket_, heads_, head_dim_;
  std::string base_name_;
  std::shared_ptr<PositionScheme> base_;
  std::vector<torch::Tensor> k_tables_, q_tables_, bias_tables_;
  std::vector<int64_t> lut_;  // bucket of integer distance d, d = 0..lut_.size()-1, grown on demand
  torch::Tensor lut_dev_;     // the same on the ids' device
  torch::Tensor idx_;
  // Pre-rotation q, k of the layer being computed (rotate() runs just before logit_bias()).
  int64_t stash_layer_ = -1;
  torch::Tensor q0_, k0_;
};

}  // namespace ctx
