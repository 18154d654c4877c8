// Registry entries (parameters, docs, checks) of the base position schemes the model implements
// in model/: rope, learned absolute, sinusoidal, nope.
#include <cmath>

#include "methods/registry.h"

namespace ctx {

MethodInfo position_rope_info() {
  MethodInfo m;
  m.kind = MethodKind::Position;
  m.name = "rope";
  m.doc = "Rotary position embedding on q and k; takes rope_scaling.";
  m.params = {
      {"theta", ParamType::Float, 10000.0, 1.0, 1e12, {}, "rope_theta, the base b of theta_j = b^(-2j/d)"},
      {"pairing", ParamType::Choice, "half", -INFINITY, INFINITY, {"half", "interleaved"},
       "half: pairs (x_j, x_{j+d/2}) as GPT-NeoX/HF Llama; interleaved: (x_2j, x_2j+1) as RoFormer/GPT-J"},
      {"rotary_fraction", ParamType::Float, 1.0, 0.0, 1.0, {}, "fraction of each head's dims rotated (partial rotary)"},
  };
  m.validate = [](const nlohmann::json& p, const MethodContext& c) -> std::string {
    int64_t rot = static_cast<int64_t>(static_cast<double>(c.head_dim) * p["rotary_fraction"].get<double>());
    if (rot < 2 || rot % 2 != 0)
      return "rotary_fraction: head_dim " + std::to_string(c.head_dim) + " x " +
             p["rotary_fraction"].dump() + " gives " + std::to_string(rot) + " rotated dims; need an even number >= 2";
    return "";
  };
  return m;
}

MethodInfo position_learned_info() {
  MethodInfo m;
  m.kind = MethodKind::Position;
  m.name = "learned";
  m.trainable = true;       // the position table
  m.host_reads_ids = true;  // prepare() reads the ids back (the table range check)
  m.doc = "Learned absolute position table (max_positions rows) added to token embeddings; fractional ids interpolate.";
  m.params = {
      {"init_interpolation", ParamType::Choice, "stretch", -INFINITY, INFINITY, {"stretch", "endpoint", "none"},
       "when the init checkpoint's table is shorter (L0 < max_positions): stretch = E'[p] = E[p div k] + (p mod k)/k "
       "(E[q+1]-E[q]), k = Lt/L0 (METHODS §1, our reading of the segmented-training paper); endpoint = u = p(L0-1)/(Lt-1); "
       "none = refuse"},
      {"pad", ParamType::Choice, "repeat", -INFINITY, INFINITY, {"repeat", "extrapolate"},
       "stretch's extra row E[L0]: repeat E[L0-1], or extrapolate 2E[L0-1]-E[L0-2]"},
  };
  return m;
}

MethodInfo position_sinusoidal_info() {
  MethodInfo m;
  m.kind = MethodKind::Position;
  m.name = "sinusoidal";
  m.doc = "Fixed sinusoidal absolute embedding (Vaswani et al.) added to token embeddings scaled by sqrt(d_model).";
  m.params = {{"base", ParamType::Float, 10000.0, 1.0, 1e12, {}, "timescale of the sinusoids"}};
  return m;
}

MethodInfo position_nope_info() {
  MethodInfo m;
  m.kind = MethodKind::Position;
  m.name = "nope";
  m.doc = "No position encoding: the causal mask alone carries order.";
  return m;
}

}  // namespace ctx
