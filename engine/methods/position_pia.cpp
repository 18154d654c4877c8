// Registry entry of Shortformer's position-infused attention (model/pia_positions.h).
#include <cmath>

#include "methods/registry.h"

namespace ctx {

MethodInfo position_pia_info() {
  MethodInfo m;
  m.kind = MethodKind::Position;
  m.name = "pia";
  m.doc = "Shortformer PIA: sinusoids added to query/key inputs in every layer (not values), with the previous window's states cached.";
  m.params = {
      {"base", ParamType::Float, 10000.0, 1.0, 1e12, {}, "timescale of the sinusoids (fairseq table: sin half then cos half)"},
      {"cache", ParamType::Bool, true, -INFINITY, INFINITY, {},
       "attend over the previous window's layer inputs (train with train.positions consecutive; "
       "evaluation walks each document's windows in order)"},
      {"position_offset", ParamType::Float, 0.0, 0.0, 1e9, {},
       "added to every window-relative id before the sinusoids: 0 = ids from 0; 2 = fairseq's "
       "make_positions in ofirpress/shortformer (first id padding_idx + 1), which its checkpoints "
       "were trained with"},
  };
  return m;
}

}  // namespace ctx
