// Position Interpolation (Chen et al. 2023), HF "linear": positions divided by `factor`,
// equivalently inv_freq / factor; attention factor 1 (METHODS.md §8.1).
#include "methods/registry.h"

namespace ctx {

MethodInfo rope_linear_info() {
  MethodInfo m;
  m.kind = MethodKind::RopeScaling;
  m.name = "linear";
  m.doc = "Position Interpolation: inv_freq / factor (positions squeezed by the factor).";
  m.params = {{"factor", ParamType::Float, nullptr, 1.0, 1e6, {}, "interpolation factor s = Lt/L0 (>= 1)"}};
  m.rope = [](const nlohmann::json& p, const RopeBase& base, int64_t) {
    RopeFreqs f;
    const double s = p.at("factor").get<double>();
    f.inv_freq = base_inv_freq(base.rot_dim, base.theta);
    for (auto& v : f.inv_freq) v /= s;
    f.resolved["factor"] = s;
    return f;
  };
  return m;
}

}  // namespace ctx
