// ALiBi (Press, Smith, Lewis 2021; METHODS.md §8.7): no position embedding, a fixed per-head linear
// penalty -m_h * (p_i - p_j) added to the scaled attention logits, from the explicit (fractional)
// ids.
#pragma once

#include <vector>

#include "model/position_scheme.h"

namespace ctx {

// The head slopes m_1..m_n of the reference code: 2^(-8h/n) for a power of two n; otherwise the
// slopes of the largest power of two c below n, then every other slope of 2c, the first n - c.
std::vector<double> alibi_slopes(int64_t heads);

class AlibiPositions : public PositionScheme {
 public:
  // Reads `slope_scale` from model.position_params.
  explicit AlibiPositions(const ModelConfig& model);
  void prepare(const torch::Tensor& positions) override;
  // [B|1, H, Tq, Tk] float32, the same tensor for every layer of one forward pass.
  bool biases_logits() const override { return true; }
  torch::Tensor logit_bias(const torch::Tensor& q, const torch::Tensor& k, int64_t layer) override;
  nlohmann::json describe() const override;
  const std::vector<double>& slopes() const { return slopes_; }

 private:
  std::vector<double> slopes_;  // already multiplied by slope_scale
  double slope_scale_;
  torch::Tensor bias_;
};

}  // namespace ctx
