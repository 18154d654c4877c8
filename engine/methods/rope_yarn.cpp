// YaRN (Peng et al. 2023, METHODS.md §8.4) as Hugging Face implements it: NTK-by-parts with a ramp
// linear in the pair index between low/high correction dims, plus the attention temperature.
#include "methods/rope_yarn.h"

#include <algorithm>
#include <cmath>

#include "methods/registry.h"

namespace ctx {

std::vector<ParamSpec> yarn_param_specs(const ParamSpec& factor) {
  return {
      factor,
      {"original_max_position_embeddings",
       ParamType::Int,
       0,
       0,
       1e9,
       {},
       "pre-training context L0 used for the ramp; 0/absent = model.max_positions (HF: "
       "config.max_position_embeddings). The given factor is used as-is even when this is set "
       "(HF after PR #40320; some 2025 4.x releases overrode it, transformers #38224)"},
      {"beta_fast",
       ParamType::Float,
       32.0,
       0.0,
       1e6,
       {},
       "pairs turning more than beta_fast times over L0 keep their frequency: low = "
       "floor(j(beta_fast)), j(N) = d*ln(L0/(2*pi*N))/(2*ln b); Llama value 32. The ramp is "
       "linear in the pair index as in the HF/repo code, not in r = L0/lambda as in the paper"},
      {"beta_slow",
       ParamType::Float,
       1.0,
       0.0,
       1e6,
       {},
       "pairs turning fewer than beta_slow times over L0 are divided by the factor: high = "
       "ceil(j(beta_slow)), clamped to d-1 as HF does; Llama value 1"},
      {"attention_factor",
       ParamType::Float,
       0.0,
       0.0,
       1e6,
       {},
       "multiplies cos and sin (logits x its square); 0/absent = from mscale/mscale_all_dim, else "
       "0.1*ln(factor)+1 (1 if factor <= 1)"},
      {"mscale",
       ParamType::Float,
       0.0,
       0.0,
       1e6,
       {},
       "DeepSeek-style: with mscale_all_dim (both non-zero, as HF) attention_factor = "
       "get_mscale(factor, mscale)/get_mscale(factor, mscale_all_dim); alone it is ignored, as in "
       "HF"},
      {"mscale_all_dim",
       ParamType::Float,
       0.0,
       0.0,
       1e6,
       {},
       "DeepSeek-style denominator of the attention factor (see mscale); 0/absent = unset"},
      {"truncate",
       ParamType::Bool,
       true,
       -INFINITY,
       INFINITY,
       {},
       "floor low / ceil high to whole pair indices (HF default true; false keeps them "
       "fractional)"},
  };
}

std::string yarn_validate(const nlohmann::json& p, const MethodContext&) {
  const double fast = p.at("beta_fast").get<double>(), slow = p.at("beta_slow").get<double>();
  if (slow <= 0) return "beta_slow: must be > 0 (got " + p.at("beta_slow").dump() + ")";
  if (fast <= slow)
    return "beta_fast: must be greater than beta_slow (got " + p.at("beta_fast").dump() +
           " <= " + p.at("beta_slow").dump() + ")";
  return "";
}

double yarn_get_mscale(double scale, double mscale) {
  if (scale <= 1.0) return 1.0;
  return 0.1 * mscale * std::log(scale) + 1.0;
}

RopeFreqs yarn_frequencies(const nlohmann::json& p, const RopeBase& base, double s) {
  const int64_t given_l0 = p.at("original_max_position_embeddings").get<int64_t>();
  const int64_t L0 = given_l0 > 0 ? given_l0 : base.max_positions;
  const double beta_fast = p.at("beta_fast").get<double>();
  const double beta_slow = p.at("beta_slow").get<double>();
  const bool truncate = p.at("truncate").get<bool>();
  const double d = static_cast<double>(base.rot_dim);

  // Pair index that makes `rotations` turns over L0: d*ln(L0/(2*pi*rotations)) / (2*ln b).
  auto correction_dim = [&](double rotations) {
    const double log_b = std::log(base.theta);
    if (!(log_b > 0)) return 0.0;  // theta <= 1: every frequency is 1, nothing to split
    return d * std::log(static_cast<double>(L0) / (rotations * 2.0 * M_PI)) / (2.0 * log_b);
  };
  double low = correction_dim(beta_fast), high = correction_dim(beta_slow);
  if (truncate) {
    low = std::floor(low);
    high = std::ceil(high);
  }
  low = std::max(low, 0.0);
  high = std::min(high, d - 1.0);  // HF clamps to dim - 1, not to the last pair index
  const double ramp_high = high == low ? high + 0.001 : high;

  RopeFreqs f;
  f.inv_freq = base_inv_freq(base.rot_dim, base.theta);
  if (s != 1.0) {
    for (size_t j = 0; j < f.inv_freq.size(); ++j) {
      // gamma = share of the interpolated frequency: 0 below low (kept), 1 from high on (theta/s).
      const double gamma = std::clamp((static_cast<double>(j) - low) / (ramp_high - low), 0.0, 1.0);
      const double theta = f.inv_freq[j];
      f.inv_freq[j] = theta / s * gamma + theta * (1.0 - gamma);
    }
  }

  const double given_af = p.at("attention_factor").get<double>();
  const double mscale = p.at("mscale").get<double>();
  const double mscale_all_dim = p.at("mscale_all_dim").get<double>();
  if (given_af > 0)
    f.attention_factor = given_af;
  else if (mscale != 0 && mscale_all_dim != 0)
    f.attention_factor = yarn_get_mscale(s, mscale) / yarn_get_mscale(s, mscale_all_dim);
  else
    f.attention_factor = yarn_get_mscale(s);

  f.resolved["factor"] = s;
  f.resolved["original_max_position_embeddings"] = L0;
  f.resolved["beta_fast"] = beta_fast;
  f.resolved["beta_slow"] = beta_slow;
  f.resolved["truncate"] = truncate;
  if (truncate) {
    f.resolved["low"] = static_cast<int64_t>(low);
    f.resolved["high"] = static_cast<int64_t>(high);
  } else {
    f.resolved["low"] = low;
    f.resolved["high"] = high;
  }
  f.resolved["attention_factor"] = f.attention_factor;
  return f;
}

MethodInfo rope_yarn_info() {
  MethodInfo m;
  m.kind = MethodKind::RopeScaling;
  m.name = "yarn";
  m.doc =
      "YaRN (HF): NTK-by-parts ramp over pair indices [low, high) plus attention factor "
      "0.1*ln(factor)+1.";
  m.params = yarn_param_specs({"factor",
                               ParamType::Float,
                               nullptr,
                               1.0,
                               1e6,
                               {},
                               "scale s = Lt/L0 (>= 1): pairs from high on are divided by it"});
  m.validate = yarn_validate;
  m.rope = [](const nlohmann::json& p, const RopeBase& base, int64_t) {
    return yarn_frequencies(p, base, p.at("factor").get<double>());
  };
  return m;
}

}  // namespace ctx
