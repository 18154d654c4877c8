// LongRoPE, HF "longrope" (Ding et al. 2024, METHODS.md §8.6): searched per-pair rescale factors,
// short_factor up to L0 and long_factor beyond it, plus attention factor sqrt(1 + ln f / ln L0).
#include <cmath>
#include <string>

#include "methods/registry.h"
#include "config/run_config.h"

namespace ctx {

namespace {

// "" or "key: reason" for one factor list against d/2 pairs.
std::string check_list(const nlohmann::json& p, const std::string& key, int64_t pairs) {
  const auto& v = p.at(key);
  const std::string want = std::to_string(pairs) + " values (rot_dim/2)";
  if (v.is_null()) return key + ": required (a list of " + want + ")";
  if (static_cast<int64_t>(v.size()) != pairs)
    return key + ": must have " + want + " (got " + std::to_string(v.size()) + ")";
  for (size_t i = 0; i < v.size(); ++i)
    if (!(v[i].get<double>() > 0))
      return key + "[" + std::to_string(i) + "]: must be > 0 (got " + v[i].dump() + ")";
  return "";
}

}  // namespace

MethodInfo rope_longrope_info() {
  MethodInfo m;
  m.kind = MethodKind::RopeScaling;
  m.name = "longrope";
  m.doc =
      "LongRoPE (HF): inv_freq_j = theta_j/ext_j, ext = long_factor if seq_len > L0 else "
      "short_factor; attention factor sqrt(1+ln f/ln L0).";
  m.params = {
      {"short_factor",
       ParamType::FloatList,
       nullptr,
       0.0,
       1e9,
       {},
       "required: rot_dim/2 per-pair divisors used while seq_len <= L0"},
      {"long_factor",
       ParamType::FloatList,
       nullptr,
       0.0,
       1e9,
       {},
       "required: rot_dim/2 per-pair divisors used when seq_len > L0"},
      {"factor",
       ParamType::Float,
       0.0,
       0.0,
       1e6,
       {},
       "extension factor for the default attention factor only (>= 1); 0/absent = "
       "model.max_positions / L0, as HF derives it for Phi-3 (HF also overrides a given factor "
       "that way; here a given factor wins)"},
      {"original_max_position_embeddings",
       ParamType::Int,
       0,
       0,
       1e9,
       {},
       "L0, where short switches to long; 0/absent = model.max_positions (Phi-3 keeps it at the "
       "top level of its config, 4096: copy it here)"},
      {"attention_factor",
       ParamType::Float,
       0.0,
       0.0,
       1e6,
       {},
       "multiplies cos and sin; 0/absent = sqrt(1 + ln(factor)/ln(L0)), 1 if factor <= 1 (HF and "
       "the paper's default)"},
  };
  m.validate = [](const nlohmann::json& p, const MethodContext& c) -> std::string {
    const int64_t pairs = c.rot_dim / 2;
    for (const char* key : {"short_factor", "long_factor"})
      if (auto err = check_list(p, key, pairs); !err.empty()) return err;
    const double factor = p.at("factor").get<double>();
    if (factor != 0 && factor < 1)
      return "factor: must be >= 1, or 0/absent to derive it (got " + p.at("factor").dump() + ")";
    return "";
  };
  m.rope = [](const nlohmann::json& p, const RopeBase& base, int64_t seq_len) {
    const int64_t given_l0 = p.at("original_max_position_embeddings").get<int64_t>();
    const int64_t L0 = given_l0 > 0 ? given_l0 : base.max_positions;
    const double given_factor = p.at("factor").get<double>();
    const double factor = given_factor > 0
                              ? given_factor
                              : static_cast<double>(base.max_positions) / static_cast<double>(L0);
    const bool use_long = seq_len > L0;
    const std::string key = use_long ? "long_factor" : "short_factor";
    if (auto err = check_list(p, key, base.rot_dim / 2); !err.empty())
      throw ConfigError("rope_scaling." + err);
    RopeFreqs f;
    f.inv_freq = base_inv_freq(base.rot_dim, base.theta);
    const auto& ext = p.at(key);
    for (size_t j = 0; j < f.inv_freq.size(); ++j) f.inv_freq[j] /= ext[j].get<double>();
    const double given_af = p.at("attention_factor").get<double>();
    if (given_af > 0)
      f.attention_factor = given_af;
    else if (factor > 1.0 && L0 > 1)
      f.attention_factor = std::sqrt(1.0 + std::log(factor) / std::log(static_cast<double>(L0)));
    f.resolved["factor"] = factor;
    f.resolved["original_max_position_embeddings"] = L0;
    f.resolved["factors_used"] = use_long ? "long" : "short";
    f.resolved["attention_factor"] = f.attention_factor;
    return f;
  };
  return m;
}

}  // namespace ctx
