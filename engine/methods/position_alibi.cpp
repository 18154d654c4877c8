// Registry entry of ALiBi (METHODS.md §8.7), implemented in model/alibi_positions.
#include "methods/registry.h"

namespace ctx {

MethodInfo position_alibi_info() {
  MethodInfo m;
  m.kind = MethodKind::Position;
  m.name = "alibi";
  m.doc =
      "ALiBi: no position embedding; adds -m_h * (p_i - p_j) to the scaled logits, fixed geometric "
      "head slopes (1/2 ... 1/256 for 8 heads).";
  m.params = {
      {"slope_scale",
       ParamType::Float,
       1.0,
       0.0,
       1e6,
       {},
       "multiplies every head slope; 1 = Press et al.; L0/L gives 'PI for ALiBi', 0 turns the bias "
       "off"},
  };
  return m;
}

}  // namespace ctx
