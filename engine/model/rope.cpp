// RoPE: angles in fp32 from explicit ids, cos/sin shared by all layers of one forward pass.
#include "model/rope.h"

#include <torch/nn/functional/activation.h>

namespace ctx {

torch::Tensor apply_rope(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin, RopePairing p) {
  const int64_t half = cos.size(-1);
  const int64_t rot = 2 * half;
  auto xr = rot == x.size(-1) ? x : x.narrow(-1, 0, rot);
  torch::Tensor out;
  if (p == RopePairing::Half) {
    auto a = xr.narrow(-1, 0, half), b = xr.narrow(-1, half, half);
    out = torch::cat({a * cos - b * sin, b * cos + a * sin}, -1);
  } else {
    auto pairs = xr.unflatten(-1, {half, 2});
    auto a = pairs.select(-1, 0), b = pairs.select(-1, 1);
    out = torch::stack({a * cos - b * sin, b * cos + a * sin}, -1).flatten(-2);
  }
  if (rot == x.size(-1)) return out;
  return torch::cat({out, x.narrow(-1, rot, x.size(-1) - rot)}, -1);
}

RopeScheme::RopeScheme(const ModelConfig& model, const nlohmann::json& rope_scaling) : scaling_(rope_scaling) {
  const auto& p = model.position_params;
  base_.theta = p.at("theta").get<double>();
  base_.rot_dim = static_cast<int64_t>(static_cast<double>(model.head_dim()) * p.at("rotary_fraction").get<double>());
  base_.max_positions = model.max_positions;
  pairing_ = p.at("pairing") == "interleaved" ? RopePairing::Interleaved : RopePairing::Half;
}

RopeFreqs RopeScheme::frequencies(int64_t seq_len) const { return rope_frequencies(scaling_, base_, seq_len); }

void RopeScheme::prepare(const torch::Tensor& positions) {
  // Length-dependent scalings (dynamic NTK, ...) see the span of ids actually present.
  const int64_t seq_len = static_cast<int64_t>(std::ceil(positions.max().item<double>())) + 1;
  auto it = cache_.find(seq_len);
  if (it == cache_.end()) {
    if (cache_.size() > 64) cache_.clear();
    it = cache_.emplace(seq_len, frequencies(seq_len)).first;
  }
  last_ = it->second;
  auto inv = torch::tensor(std::vector<float>(last_.inv_freq.begin(), last_.inv_freq.end()),
                           torch::TensorOptions().dtype(torch::kFloat))
                 .to(positions.device());
  auto angles = positions.to(torch::kFloat).unsqueeze(-1) * inv;  // [B, T, d/2]
  const auto af = static_cast<float>(last_.attention_factor);
  cos_ = (angles.cos() * af).unsqueeze(1);
  sin_ = (angles.sin() * af).unsqueeze(1);
}

void RopeScheme::rotate(torch::Tensor& q, torch::Tensor& k, int64_t) {
  auto c = cos_.to(q.scalar_type()), s = sin_.to(q.scalar_type());
  q = apply_rope(q, c, s, pairing_);
  k = apply_rope(k, c, s, pairing_);
}

nlohmann::json RopeScheme::describe() const {
  auto f = frequencies(base_.max_positions);
  nlohmann::json j = f.resolved;
  j["pairing"] = pairing_ == RopePairing::Half ? "half" : "interleaved";
  j["attention_factor"] = f.attention_factor;
  return j;
}

}  // namespace ctx
