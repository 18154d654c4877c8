// Llama-3.1 RoPE scaling, HF "llama3" (METHODS.md §8.5): short wavelengths kept, long ones divided
// by factor, a smooth blend between L0/high_freq_factor and L0/low_freq_factor; attention factor 1.
#include <cmath>

#include "methods/registry.h"

namespace ctx {

MethodInfo rope_llama3_info() {
  MethodInfo m;
  m.kind = MethodKind::RopeScaling;
  m.name = "llama3";
  m.doc =
      "Llama 3.1 (HF): keep wavelengths < L0/high_freq_factor, divide those > "
      "L0/low_freq_factor by factor, blend between.";
  m.params = {
      {"factor",
       ParamType::Float,
       8.0,
       1.0,
       1e6,
       {},
       "divisor of the low-frequency band (>= 1); Llama 3.1: 8"},
      {"low_freq_factor",
       ParamType::Float,
       1.0,
       0.0,
       1e6,
       {},
       "wavelengths above L0/low_freq_factor are divided by factor (> 0); Llama 3.1: 1"},
      {"high_freq_factor",
       ParamType::Float,
       4.0,
       0.0,
       1e6,
       {},
       "wavelengths below L0/high_freq_factor are kept (> low_freq_factor); Llama 3.1: 4"},
      {"original_max_position_embeddings",
       ParamType::Int,
       0,
       0,
       1e9,
       {},
       "L0, the pre-training context; 0/absent = model.max_positions (Llama 3.1 blocks carry "
       "8192; HF requires the key)"},
  };
  m.validate = [](const nlohmann::json& p, const MethodContext&) -> std::string {
    const double lo = p.at("low_freq_factor").get<double>();
    const double hi = p.at("high_freq_factor").get<double>();
    if (lo <= 0) return "low_freq_factor: must be > 0 (got " + p.at("low_freq_factor").dump() + ")";
    if (hi <= lo)
      return "high_freq_factor: must be greater than low_freq_factor (got " +
             p.at("high_freq_factor").dump() + " <= " + p.at("low_freq_factor").dump() + ")";
    return "";
  };
  m.rope = [](const nlohmann::json& p, const RopeBase& base, int64_t) {
    const double factor = p.at("factor").get<double>();
    const double lo = p.at("low_freq_factor").get<double>();
    const double hi = p.at("high_freq_factor").get<double>();
    const int64_t given_l0 = p.at("original_max_position_embeddings").get<int64_t>();
    const int64_t L0 = given_l0 > 0 ? given_l0 : base.max_positions;
    const double l0 = static_cast<double>(L0);
    const double low_freq_wavelen = l0 / lo, high_freq_wavelen = l0 / hi;
    RopeFreqs f;
    f.inv_freq = base_inv_freq(base.rot_dim, base.theta);
    int64_t kept = 0, blended = 0, divided = 0;
    for (auto& theta : f.inv_freq) {
      const double wavelen = 2.0 * M_PI / theta;
      if (wavelen < high_freq_wavelen) {
        ++kept;
      } else if (wavelen > low_freq_wavelen) {
        theta /= factor;
        ++divided;
      } else {
        const double w = (l0 / wavelen - lo) / (hi - lo);
        theta = (1.0 - w) * theta / factor + w * theta;
        ++blended;
      }
    }
    f.resolved["factor"] = factor;
    f.resolved["low_freq_factor"] = lo;
    f.resolved["high_freq_factor"] = hi;
    f.resolved["original_max_position_embeddings"] = L0;
    f.resolved["pairs_kept"] = kept;
    f.resolved["pairs_blended"] = blended;
    f.resolved["pairs_divided"] = divided;
    return f;
  };
  return m;
}

}  // namespace ctx
