// Dynamic YaRN (jquesnelle/yarn's LlamaDynamicYaRNScaledRotaryEmbedding, METHODS.md §8.4): YaRN
// recomputed at every length with s = max(factor, seq_len / L0); not a Hugging Face type.
#include <algorithm>

#include "methods/registry.h"
#include "methods/rope_yarn.h"

namespace ctx {

MethodInfo rope_dynamic_yarn_info() {
  MethodInfo m;
  m.kind = MethodKind::RopeScaling;
  m.name = "dynamic_yarn";
  m.doc =
      "Dynamic YaRN (yarn repo): YaRN with s = max(factor, seq_len/L0) at each length; same "
      "keys as yarn.";
  m.params = yarn_param_specs(
      {"factor",
       ParamType::Float,
       1.0,
       1.0,
       1e6,
       {},
       "minimum scale: s = max(factor, seq_len/L0). 1 = plain dynamic YaRN (base RoPE up to L0); "
       "L_ft/L0 for a checkpoint fine-tuned at L_ft (the repo's finetuned=True)"});
  m.validate = yarn_validate;
  m.rope = [](const nlohmann::json& p, const RopeBase& base, int64_t seq_len) {
    const int64_t given_l0 = p.at("original_max_position_embeddings").get<int64_t>();
    const int64_t L0 = given_l0 > 0 ? given_l0 : base.max_positions;
    const double min_factor = p.at("factor").get<double>();
    const double s = std::max(min_factor, static_cast<double>(seq_len) / static_cast<double>(L0));
    auto f = yarn_frequencies(p, base, s);  // attention factor follows s unless given
    f.resolved["min_factor"] = min_factor;
    return f;
  };
  return m;
}

}  // namespace ctx
