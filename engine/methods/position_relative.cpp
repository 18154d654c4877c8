// Registry entry of the Shaw / Huang relative position embeddings (METHODS.md §7), implemented in
// model/relative_positions.
#include <cmath>

#include "methods/registry.h"

namespace ctx {

MethodInfo position_relative_info() {
  MethodInfo m;
  m.kind = MethodKind::Position;
  m.name = "relative";
  m.trainable = true;       // one bias table per layer
  m.host_reads_ids = true;  // prepare() reads the ids back (the rows used)
  m.doc =
      "Learned relative embeddings a_ij = w[min(i-j, clip)] in the logits, one table per layer "
      "shared by the heads (HF BERT style); Shaw's value term is not supported.";
  m.params = {
      {"variant",
       ParamType::Choice,
       "key_query",
       -INFINITY,
       INFINITY,
       {"shaw", "key_query"},
       "shaw: q_i.(k_j + a_ij)/sqrt(d) (Shaw et al., logits only); key_query: (q.k + q.a + "
       "k.a)/sqrt(d) (Huang et al. method 4, HF relative_key_query)"},
      {"clip",
       ParamType::Int,
       16,
       1.0,
       1048576.0,
       {},
       "clipping distance k: distances >= k share the last of k+1 rows; a clip >= the longest "
       "input reproduces HF's unclipped table"},
  };
  return m;
}

}  // namespace ctx
