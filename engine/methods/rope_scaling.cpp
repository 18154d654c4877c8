// Base RoPE frequencies, the "default" scaling, and dispatch from a rope_scaling dict to its method.
#include "methods/rope_scaling.h"

#include <cmath>

#include "methods/registry.h"
#include "config/run_config.h"

namespace ctx {

std::vector<double> base_inv_freq(int64_t rot_dim, double theta) {
  std::vector<double> f(static_cast<size_t>(rot_dim / 2));
  for (int64_t j = 0; j < rot_dim / 2; ++j)
    f[static_cast<size_t>(j)] = std::pow(theta, -2.0 * static_cast<double>(j) / static_cast<double>(rot_dim));
  return f;
}

std::string rope_scaling_name(const nlohmann::json& s) {
  if (s.is_null()) return "default";
  if (s.contains("rope_type") && s["rope_type"].is_string()) return s["rope_type"].get<std::string>();
  if (s.contains("type") && s["type"].is_string()) return s["type"].get<std::string>();
  return "default";
}

RopeFreqs rope_frequencies(const nlohmann::json& rope_scaling, const RopeBase& base, int64_t seq_len) {
  const auto* m = get_method(MethodKind::RopeScaling, rope_scaling_name(rope_scaling), "rope_scaling.rope_type");
  auto freqs = m->rope(rope_scaling.is_null() ? nlohmann::json::object() : rope_scaling, base, seq_len);
  freqs.resolved["rope_type"] = m->name;
  freqs.resolved["rope_theta"] = base.theta;
  freqs.resolved["rot_dim"] = base.rot_dim;
  freqs.resolved["seq_len"] = seq_len;
  return freqs;
}

RopeBase rope_base_of(const ModelConfig& model) {
  const auto& p = model.position_params;
  RopeBase b;
  b.theta = p.at("theta").get<double>();
  b.rot_dim = static_cast<int64_t>(static_cast<double>(model.head_dim()) *
                                   p.at("rotary_fraction").get<double>());
  b.max_positions = model.max_positions;
  return b;
}

bool rope_scaling_length_free(const nlohmann::json& rope_scaling, const RopeBase& base) {
  try {
    const auto a = rope_frequencies(rope_scaling, base, 1);
    const auto b = rope_frequencies(rope_scaling, base, int64_t{1} << 40);
    return a.inv_freq == b.inv_freq && a.attention_factor == b.attention_factor;
  } catch (const std::exception&) {
    return false;
  }
}

MethodInfo rope_default_info() {
  MethodInfo m;
  m.kind = MethodKind::RopeScaling;
  m.name = "default";
  m.doc = "Plain RoPE: inv_freq_j = theta^(-2j/d), attention factor 1.";
  m.rope = [](const nlohmann::json&, const RopeBase& base, int64_t) {
    RopeFreqs f;
    f.inv_freq = base_inv_freq(base.rot_dim, base.theta);
    return f;
  };
  return m;
}

}  // namespace ctx
