// Static NTK-aware scaling (bloc97 2023, METHODS.md §8.2): the RoPE base becomes
// b' = b * alpha^(d/(d-2)), so the lowest frequency is divided by alpha and the highest kept.
#include <cmath>
#include <string>

#include "methods/registry.h"

namespace ctx {

MethodInfo rope_ntk_info() {
  MethodInfo m;
  m.kind = MethodKind::RopeScaling;
  m.name = "ntk";
  m.doc =
      "Static NTK-aware: base b' = b*factor^(d/(d-2)). Not an HF type (HF: set rope_theta); "
      "CREAM's and PoSE's NTK option with factor = s.";
  m.params = {{"factor",
               ParamType::Float,
               nullptr,
               1.0,
               1e6,
               {},
               "alpha (>= 1): the lowest frequency is divided by exactly alpha; CREAM/PoSE use "
               "alpha = s = Lt/L0, without fine-tuning 2-8 is typical"}};
  m.validate = [](const nlohmann::json&, const MethodContext& c) -> std::string {
    if (c.rot_dim < 4)
      return "rope_type: ntk changes the base, which needs at least 4 rotated dims (got " +
             std::to_string(c.rot_dim) + ")";
    return "";
  };
  m.rope = [](const nlohmann::json& p, const RopeBase& base, int64_t) {
    const double alpha = p.at("factor").get<double>();
    const double d = static_cast<double>(base.rot_dim);
    const double theta =
        base.rot_dim > 2 ? base.theta * std::pow(alpha, d / (d - 2.0)) : base.theta;
    RopeFreqs f;
    f.inv_freq = base_inv_freq(base.rot_dim, theta);
    f.resolved["factor"] = alpha;
    f.resolved["alpha"] = alpha;
    f.resolved["effective_theta"] = theta;
    return f;
  };
  return m;
}

}  // namespace ctx
