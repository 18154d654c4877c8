// CLEX (Chen et al. 2023, METHODS.md §2) as a rope_scaling entry. The frequencies are learned by an
// ODE inside the model (model/clex_ode.h); what this entry computes without a checkpoint is the
// untrained solution, which equals NTK-aware scaling with α = 2t − 1, t = ⌈L/L0⌉ capped at max_factor.
#include <algorithm>
#include <cmath>

#include "methods/registry.h"

namespace ctx {

MethodInfo rope_clex_info() {
  MethodInfo m;
  m.kind = MethodKind::RopeScaling;
  m.name = "clex";
  m.trainable = true;  // the ODE's up and down projections
  m.doc = "CLEX: log inverse frequencies evolved by a learned neural ODE over the scale t (trained with the model).";
  m.params = {
      {"max_factor", ParamType::Int, 16, 1, 1024, {}, "max_t: largest scale; training samples integer t in 1..max_t, inference caps t"},
      {"param_factor", ParamType::Int, 1, 1, 64, {}, "λ: the ODE's hidden width is λ·d"},
      {"time_dt", ParamType::Float, 0.01, 1e-4, 1.0, {}, "fixed RK step in t (must divide 1)"},
      {"act", ParamType::Choice, "tanh", -INFINITY, INFINITY, {"tanh", "silu"}, "activation of the ODE network (code default tanh; the first commit used SiLU)"},
      {"rk_scheme", ParamType::Choice, "3/8", -INFINITY, INFINITY, {"3/8", "classic"},
       "RK4 variant: 3/8 rule as torchdiffeq's fixed-grid 'rk4' (the released code), or the classic tableau"},
      {"original_max_position_embeddings", ParamType::Int, 0, 0, 1e9, {}, "L0 (0 = model.max_positions)"},
      {"time_embedding_base", ParamType::Float, 10000.0, 0.0, 1e12, {},
       "base of the ODE's NTK time embedding: 10000 as the released code (ODELinear.forward never passes "
       "its base, whatever rope_theta is); 0 = the model's rope_theta"},
      {"log_scale", ParamType::Bool, false, -INFINITY, INFINITY, {},
       "at evaluation multiply queries by ln(L)/ln(L0) (the eval script's option; < 1 below L0); never in training"},
  };
  m.validate = [](const nlohmann::json& p, const MethodContext& c) -> std::string {
    const double steps = 1.0 / p["time_dt"].get<double>();
    if (std::abs(steps - std::round(steps)) > 1e-9) return "time_dt: 1/time_dt must be an integer";
    if (c.rot_dim < 4) return "rope_type: CLEX needs at least 4 rotated dims per head";
    return "";
  };
  m.rope = [](const nlohmann::json& p, const RopeBase& base, int64_t seq_len) {
    RopeFreqs f;
    int64_t L0 = p.at("original_max_position_embeddings").get<int64_t>();
    if (L0 <= 0) L0 = base.max_positions;
    const int64_t max_t = p.at("max_factor").get<int64_t>();
    const int64_t t = std::clamp<int64_t>((seq_len + L0 - 1) / L0, 1, max_t);
    const double alpha = 2.0 * static_cast<double>(t) - 1.0;
    const double d = static_cast<double>(base.rot_dim);
    const double b = base.theta * std::pow(alpha, d / (d - 2));
    f.inv_freq = base_inv_freq(base.rot_dim, b);
    f.resolved = {{"t", t}, {"original_max_position_embeddings", L0}, {"max_factor", max_t},
                  {"untrained_ntk_alpha", alpha}, {"note", "untrained ODE (down projection zero): trained runs differ"}};
    return f;
  };
  return m;
}

}  // namespace ctx
