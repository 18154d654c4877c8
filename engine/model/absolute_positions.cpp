// Learned and sinusoidal absolute positions, plus the scheme factory.
#include "model/absolute_positions.h"

#include <cmath>

#include "model/rope.h"

namespace ctx {

LearnedPositions::LearnedPositions(int64_t rows, int64_t d_model) : rows_(rows) {
  table_ = register_parameter("table", torch::randn({rows, d_model}) * 0.02);
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

namespace {
class NoPositions : public PositionScheme {};
}  // namespace

std::shared_ptr<PositionScheme> make_position_scheme(const ModelConfig& model, const nlohmann::json& rope_scaling) {
  if (model.position == "rope") return std::make_shared<RopeScheme>(model, rope_scaling);
  if (model.position == "learned") return std::make_shared<LearnedPositions>(model.max_positions, model.d_model);
  if (model.position == "sinusoidal")
    return std::make_shared<SinusoidalPositions>(model.d_model, model.position_params.at("base").get<double>());
  if (model.position == "nope") return std::make_shared<NoPositions>();
  throw ConfigError("model.position.type: no model implementation for '" + model.position + "'");
}

}  // namespace ctx
