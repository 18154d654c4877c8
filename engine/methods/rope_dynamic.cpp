// Dynamic NTK (emozilla), HF "dynamic" (METHODS.md §8.3): above L0 the base grows with the length,
// b' = b * (factor*l/L0 - (factor-1))^(d/(d-2)); up to L0 the original frequencies.
#include <cmath>
#include <string>

#include "methods/registry.h"

namespace ctx {

MethodInfo rope_dynamic_info() {
  MethodInfo m;
  m.kind = MethodKind::RopeScaling;
  m.name = "dynamic";
  m.doc =
      "Dynamic NTK (HF): at length l > L0, base b' = b*(factor*l/L0 - factor + 1)^(d/(d-2)); "
      "original RoPE up to L0.";
  m.params = {
      {"factor",
       ParamType::Float,
       nullptr,
       1.0,
       1e6,
       {},
       "factor (>= 1) in alpha = factor*l/L0 - (factor-1), HF's formula; it grows faster than the "
       "YaRN paper's s = max(1, l/L0) for factor > 1 (this follows HF)"},
      {"original_max_position_embeddings",
       ParamType::Int,
       0,
       0,
       1e9,
       {},
       "L0, the pre-training context; 0/absent = model.max_positions (HF uses "
       "config.max_position_embeddings, which must not be raised by the user)"},
  };
  m.validate = [](const nlohmann::json&, const MethodContext& c) -> std::string {
    if (c.rot_dim < 4)
      return "rope_type: dynamic changes the base, which needs at least 4 rotated dims (got " +
             std::to_string(c.rot_dim) + ")";
    return "";
  };
  m.rope = [](const nlohmann::json& p, const RopeBase& base, int64_t seq_len) {
    const double factor = p.at("factor").get<double>();
    const int64_t given_l0 = p.at("original_max_position_embeddings").get<int64_t>();
    const int64_t L0 = given_l0 > 0 ? given_l0 : base.max_positions;
    double alpha = 1.0, theta = base.theta;
    if (seq_len > L0 && base.rot_dim > 2) {
      const double d = static_cast<double>(base.rot_dim);
      alpha = factor * static_cast<double>(seq_len) / static_cast<double>(L0) - (factor - 1.0);
      theta = base.theta * std::pow(alpha, d / (d - 2.0));
    }
    RopeFreqs f;
    f.inv_freq = base_inv_freq(base.rot_dim, theta);
    f.resolved["factor"] = factor;
    f.resolved["original_max_position_embeddings"] = L0;
    f.resolved["alpha"] = alpha;
    f.resolved["effective_theta"] = theta;
    return f;
  };
  return m;
}

}  // namespace ctx
