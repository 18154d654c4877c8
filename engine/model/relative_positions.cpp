// Shaw / Huang relative position embeddings: one table per layer shared by the heads (as HF BERT's
// `distance_embedding`), distances from the explicit ids, q A^T once per table row then a gather.
#include "model/relative_positions.h"

#include <cmath>

namespace ctx {

RelativePositions::RelativePositions(const ModelConfig& model)
    : key_query_(model.position_params.value("variant", std::string("key_query")) == "key_query"),
      clip_(model.position_params.value("clip", int64_t{16})),
      head_dim_(model.head_dim()) {
  // Causal attention only scores keys at or before the query, so with non-decreasing ids every
  // scored distance is >= 0: k + 1 rows (0..k) instead of Shaw's 2k + 1, all reached in training.
  for (int64_t l = 0; l < model.layers; ++l)
    tables_.push_back(register_parameter("table_" + std::to_string(l),
                                         torch::randn({clip_ + 1, head_dim_}) * 0.02));
}

void RelativePositions::prepare(const torch::Tensor& positions) {
  // Round the id *difference* (half to even), not each id: a constant shift of fractional ids then
  // leaves every row unchanged. Negative distances (only from decreasing ids) share row 0.
  auto p = positions.to(torch::kDouble);
  auto d = (p.unsqueeze(-1) - p.unsqueeze(-2)).round_().clamp_(0, static_cast<double>(clip_));
  idx_ = d.to(torch::kLong).unsqueeze(1);  // [B, 1, T, T]
  // Only the rows up to the largest distance present take part: with a large clip (HF's
  // "unbounded" table) q A^T would otherwise be computed for rows no pair reads.
  rows_used_ = idx_.max().item<int64_t>() + 1;
}

torch::Tensor RelativePositions::logit_bias(const torch::Tensor& q, const torch::Tensor& k,
                                            int64_t layer) {
  TORCH_CHECK(idx_.defined(), "RelativePositions: logit_bias before prepare");
  const int64_t T = idx_.size(-1), Tq = q.size(-2), Tk = k.size(-2);
  TORCH_CHECK(Tk == T && Tq <= T, "RelativePositions: ", Tk, " keys for ", T, " prepared ids");
  auto idx = (Tq == T ? idx_ : idx_.narrow(2, T - Tq, Tq)).expand({q.size(0), q.size(1), Tq, Tk});
  auto a = tables_.at(static_cast<size_t>(layer)).narrow(0, 0, rows_used_).to(q.scalar_type());
  // Z[i, r] = q_i . a_r for the distinct rows, then y_ij = Z[i, row(i, j)]: O(T * rows * d) +
  // O(T^2) instead of materialising a [T, T, d] tensor of a_ij.
  auto bias = torch::gather(torch::matmul(q, a.t()), -1, idx);
  // Key term k_j . a_ij: Zk[j, r] is indexed by the key, so gather along the row axis of Zk^T.
  if (key_query_) bias = bias + torch::gather(torch::matmul(k, a.t()).transpose(-1, -2), -2, idx);
  return bias * (1.0 / std::sqrt(static_cast<double>(head_dim_)));
}

nlohmann::json RelativePositions::describe() const {
  return {{"variant", key_query_ ? "key_query" : "shaw"},
          {"clip", clip_},
          {"rows", clip_ + 1},
          {"shared_heads", true},
          {"value_term", false}};
}

}  // namespace ctx
