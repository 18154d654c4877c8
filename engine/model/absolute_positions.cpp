// Learned and sinusoidal absolute positions.
#include "model/absolute_positions.h"

#include <cmath>

namespace ctx {

LearnedPositions::LearnedPositions(int64_t rows, int64_t d_model, std::string interpolation, std::string pad)
    : rows_(rows), interpolation_(std::move(interpolation)), pad_(std::move(pad)) {
  table_ = register_parameter("table", torch::randn({rows, d_model}) * 0.02);
}

torch::Tensor interpolate_table(const torch::Tensor& E, int64_t rows, const std::string& mode, const std::string& pad) {
  const int64_t L0 = E.size(0);
  if (mode == "endpoint") {
    // u = p (L0-1)/(Lt-1): first and last rows stay, everything between is linear.
    auto u = torch::arange(rows, torch::kDouble) * (static_cast<double>(L0 - 1) / static_cast<double>(rows - 1));
    auto i0 = u.floor().to(torch::kLong).clamp_max(L0 - 1), i1 = (i0 + 1).clamp_max(L0 - 1);
    auto w = (u - i0.to(torch::kDouble)).to(E.scalar_type()).unsqueeze(1);
    return E.index_select(0, i0) * (1 - w) + E.index_select(0, i1) * w;
  }
  // "stretch": k = Lt/L0 integer; pad one row E[L0] (repeat or linear extrapolation); then
  // E'[p] = E[q] + (r/k)(E[q+1] - E[q]) with q = p div k, r = p mod k, so E'[kq] = E[q].
  if (rows % L0 != 0)
    throw PositionRangeError("model.position.init_interpolation: stretch needs max_positions (" + std::to_string(rows) +
                             ") to be a multiple of the checkpoint's table (" + std::to_string(L0) + " rows)");
  const int64_t k = rows / L0;
  auto extra = pad == "extrapolate" && L0 >= 2 ? 2 * E[L0 - 1] - E[L0 - 2] : E[L0 - 1];
  auto padded = torch::cat({E, extra.unsqueeze(0)}, 0);
  auto p = torch::arange(rows, torch::kLong);
  auto q = p.div(k, "floor"), r = (p - q * k).to(E.scalar_type()).unsqueeze(1) / static_cast<double>(k);
  auto Eq = padded.index_select(0, q), Eq1 = padded.index_select(0, q + 1);
  return Eq + r * (Eq1 - Eq);
}

torch::Tensor LearnedPositions::adapt_loaded(const std::string& name, const torch::Tensor& loaded) {
  if (name != "table" || interpolation_ == "none" || loaded.dim() != 2 || loaded.size(1) != table_.size(1) ||
      loaded.size(0) >= rows_)
    return {};
  return interpolate_table(loaded, rows_, interpolation_, pad_);
}

void LearnedPositions::prepare(const torch::Tensor& positions) {
  const double hi = positions.max().item<double>();
  const double lo = positions.min().item<double>();
  if (lo < 0 || hi > static_cast<double>(rows_ - 1))
    throw PositionRangeError("position id " + std::to_string(hi > rows_ - 1 ? hi : lo) +
                             " is outside the learned position table (max_positions " + std::to_string(rows_) + ")");
  auto p = positions.to(torch::kFloat);
  auto i0 = p.floor().to(torch::kLong);
  auto frac = (p - i0.to(torch::kFloat)).unsqueeze(-1);
  auto i1 = (i0 + 1).clamp_max(rows_ - 1);
  pe_ = torch::embedding(table_, i0) * (1 - frac) + torch::embedding(table_, i1) * frac;
}

torch::Tensor LearnedPositions::embed(const torch::Tensor& h) { return h + pe_.to(h.scalar_type()); }

torch::Tensor sinusoidal_table(const torch::Tensor& positions, int64_t d, double base) {
  const int64_t half = d / 2;
  auto opts = torch::TensorOptions().dtype(torch::kFloat).device(positions.device());
  auto freq = torch::exp(torch::arange(half, opts) * (-std::log(base) / static_cast<double>(std::max<int64_t>(half - 1, 1))));
  auto ang = positions.to(torch::kFloat).unsqueeze(-1) * freq;
  auto pe = torch::cat({ang.sin(), ang.cos()}, -1);
  if (pe.size(-1) < d) pe = torch::cat({pe, torch::zeros({pe.size(0), pe.size(1), d - pe.size(-1)}, opts)}, -1);
  return pe;
}

void SinusoidalPositions::prepare(const torch::Tensor& positions) { pe_ = sinusoidal_table(positions, d_, base_); }

}  // namespace ctx
