// The list of registered methods and lookups over it.
#include "methods/registry.h"

#include "config/run_config.h"

namespace ctx {

std::string to_string(MethodKind k) {
  switch (k) {
    case MethodKind::Position: return "position";
    case MethodKind::RopeScaling: return "rope_scaling";
    case MethodKind::Sampler: return "sampler";
  }
  return "?";
}

const std::vector<MethodInfo>& all_methods() {
  static const std::vector<MethodInfo> methods = {
      position_rope_info(),
      position_learned_info(),
      position_sinusoidal_info(),
      position_nope_info(),
      position_pia_info(),
      position_alibi_info(),
      position_relative_info(),
      position_irpe_info(),
      rope_default_info(),
      rope_linear_info(),
      rope_clex_info(),
      rope_e2llm_info(),
      rope_ntk_info(),
      rope_dynamic_info(),
      rope_yarn_info(),
      rope_dynamic_yarn_info(),
      rope_llama3_info(),
      rope_longrope_info(),
      sampler_contiguous_info(),
      sampler_consecutive_info(),
      sampler_chunk_info(),
      sampler_prefix_info(),
      sampler_randpos_info(),
      sampler_pose_info(),
      sampler_cream_info(),
      sampler_e2llm_info(),
      sampler_clex_positions_info(),
  };
  return methods;
}

const MethodInfo* find_method(MethodKind kind, const std::string& name) {
  for (auto& m : all_methods()) {
    if (m.kind != kind) continue;
    if (m.name == name) return &m;
    for (auto& a : m.aliases)
      if (a == name) return &m;
  }
  return nullptr;
}

const MethodInfo* get_method(MethodKind kind, const std::string& name, const std::string& where) {
  if (auto* m = find_method(kind, name)) return m;
  std::string all;
  for (auto& m : all_methods())
    if (m.kind == kind) all += (all.empty() ? "" : ", ") + m.name;
  throw ConfigError(where + ": unknown " + to_string(kind) + " '" + name + "' (known: " + all + ")");
}

nlohmann::json registry_json() {
  nlohmann::json out = nlohmann::json::array();
  for (auto& m : all_methods()) {
    nlohmann::json params = nlohmann::json::array();
    for (auto& p : m.params) params.push_back(to_json(p));
    out.push_back({{"kind", to_string(m.kind)}, {"name", m.name}, {"aliases", m.aliases},
                   {"doc", m.doc}, {"params", params}});
  }
  return out;
}

}  // namespace ctx
