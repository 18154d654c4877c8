// Learned relative position embeddings in the logits (METHODS.md §7): Shaw et al. 2018
// (q_i . (k_j + a_ij)) and Huang et al. 2020 method 4 (q.k + q.a + k.a), a_ij = w[clip(i - j)].
#pragma once

#include <vector>

#include "model/position_scheme.h"

namespace ctx {

class RelativePositions : public PositionScheme {
 public:
  // Reads `variant` (shaw | key_query) and `clip` from model.position_params.
  explicit RelativePositions(const ModelConfig& model);
  void prepare(const torch::Tensor& positions) override;
  // [B, H, Tq, Tk]: (q_i . a_ij [+ k_j . a_ij]) / sqrt(Dh), via q A^T over the table rows and a
  // gather.
  bool biases_logits() const override { return true; }
  torch::Tensor logit_bias(const torch::Tensor& q, const torch::Tensor& k, int64_t layer) override;
  nlohmann::json describe() const override;

  // Layer `layer`'s table [clip + 1, Dh]: row r embeds the distance min(round(p_i - p_j), clip).
  torch::Tensor table(int64_t layer) const { return tables_.at(static_cast<size_t>(layer)); }
  // The row of every (query, key) pair of the last prepare(): [B, 1, T, T] int64.
  const torch::Tensor& row_index() const { return idx_; }
  int64_t clip() const { return clip_; }
  bool key_query() const { return key_query_; }

 private:
  bool key_query_;
  int64_t clip_, head_dim_;
  std::vector<torch::Tensor> tables_;
  torch::Tensor idx_;
  int64_t rows_used_ = 0;
};

}  // namespace ctx
