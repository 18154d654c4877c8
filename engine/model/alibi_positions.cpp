// ALiBi: head slopes and the per-forward bias matrix.
#include "model/alibi_positions.h"

#include <cmath>

namespace ctx {

namespace {

std::vector<double> power_of_two_slopes(int64_t n) {
  std::vector<double> s(static_cast<size_t>(n));
  for (int64_t h = 1; h <= n; ++h)
    s[static_cast<size_t>(h - 1)] =
        std::pow(2.0, -8.0 * static_cast<double>(h) / static_cast<double>(n));
  return s;
}

}  // namespace

std::vector<double> alibi_slopes(int64_t heads) {
  if (heads < 1) throw std::invalid_argument("alibi_slopes: heads must be >= 1");
  int64_t c = 1;
  while (c * 2 <= heads) c *= 2;
  auto s = power_of_two_slopes(c);
  if (c == heads) return s;
  // Odd head counts interleave the next power of two's slopes so the extra heads fall between
  // the existing geometric steps instead of extending the range.
  auto wider = power_of_two_slopes(2 * c);
  for (int64_t i = 0; static_cast<int64_t>(s.size()) < heads; i += 2)
    s.push_back(wider[static_cast<size_t>(i)]);
  return s;
}

AlibiPositions::AlibiPositions(const ModelConfig& model)
    : slope_scale_(model.position_params.value("slope_scale", 1.0)) {
  slopes_ = alibi_slopes(model.heads);
  for (auto& m : slopes_) m *= slope_scale_;
}

void AlibiPositions::prepare(const torch::Tensor& positions) {
  // Differences in float64: ids past 2^24 or fractional ids keep an exact p_i - p_j.
  auto p = positions.to(torch::kDouble);
  auto d = (p.unsqueeze(-1) - p.unsqueeze(-2)).unsqueeze(1);  // [B, 1, T, T], query minus key
  auto m =
      torch::tensor(slopes_, torch::TensorOptions().dtype(torch::kDouble)).to(positions.device());
  // Full -m (i - j) rather than the row-shift trick m * j: the trick's values grow with the
  // absolute id and lose precision once the bias is cast to bf16/fp16 for the fused kernel.
  bias_ = (d * m.view({1, -1, 1, 1})).neg_().to(torch::kFloat);
}

torch::Tensor AlibiPositions::logit_bias(const torch::Tensor& q, const torch::Tensor& k, int64_t) {
  TORCH_CHECK(bias_.defined(), "AlibiPositions: logit_bias before prepare");
  const int64_t T = bias_.size(-1), Tq = q.size(-2);
  TORCH_CHECK(k.size(-2) == T && Tq <= T, "AlibiPositions: ", k.size(-2), " keys for ", T,
              " prepared ids");
  // Queries are the last Tq tokens (attend's alignment when Tk > Tq).
  return Tq == T ? bias_ : bias_.narrow(2, T - Tq, Tq);
}

nlohmann::json AlibiPositions::describe() const {
  return {{"slope_scale", slope_scale_}, {"slopes", slopes_}};
}

}  // namespace ctx
