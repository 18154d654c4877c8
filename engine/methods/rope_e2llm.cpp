// E2-LLM inference (METHODS.md §4): Position Interpolation whose factor is chosen from the input
// length, g = max(1, ⌈L/L0⌉) (the paper's suggestion; any real g via `fixed_g`). Training with the
// e2llm sampler already divides ids by its drawn g, so ids stay below L0 there and g = 1 here.
#include <algorithm>
#include <cmath>

#include "methods/registry.h"

namespace ctx {

MethodInfo rope_e2llm_info() {
  MethodInfo m;
  m.kind = MethodKind::RopeScaling;
  m.name = "e2llm";
  m.doc = "E2-LLM inference: linear PI with g = max(1, ceil(L/L0)) picked from the length (pair with train.positions e2llm).";
  m.params = {
      {"original_max_position_embeddings", ParamType::Int, 0, 0, 1e9, {}, "L0, the original window L (0 = model.max_positions)"},
      {"g_max", ParamType::Int, 0, 0, 1e6, {}, "cap on g (0 = none; the paper tried unseen g up to 50)"},
      {"fixed_g", ParamType::Float, 0.0, 0.0, 1e6, {}, "use this g at every length instead (0 = from the length); any real g >= 1"},
  };
  m.rope = [](const nlohmann::json& p, const RopeBase& base, int64_t seq_len) {
    int64_t L0 = p.at("original_max_position_embeddings").get<int64_t>();
    if (L0 <= 0) L0 = base.max_positions;
    double g = p.at("fixed_g").get<double>();
    if (g <= 0) {
      g = static_cast<double>(std::max<int64_t>(1, (seq_len + L0 - 1) / L0));
      if (const auto cap = p.at("g_max").get<int64_t>(); cap > 0) g = std::min(g, static_cast<double>(cap));
    }
    g = std::max(g, 1.0);
    RopeFreqs f;
    f.inv_freq = base_inv_freq(base.rot_dim, base.theta);
    for (auto& v : f.inv_freq) v /= g;
    f.resolved = {{"g", g}, {"original_max_position_embeddings", L0}};
    return f;
  };
  return m;
}

}  // namespace ctx
