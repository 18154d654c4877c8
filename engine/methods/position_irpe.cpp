// Registry entry of iRPE's 1-D causal adaptation (METHODS.md §7b), implemented in
// model/irpe_positions.
#include <cmath>
#include <string>

#include "methods/registry.h"

namespace ctx {

MethodInfo position_irpe_info() {
  MethodInfo m;
  m.kind = MethodKind::Position;
  m.name = "irpe";
  m.trainable = true;       // bias and q/k tables
  m.host_reads_ids = true;  // prepare() reads the ids back (fractional ids, largest distance)
  m.doc =
      "iRPE (Wu et al.) 1-D causal: log-bucketed relative distance (exact to alpha, log to gamma, "
      "saturated at bucket floor(beta)); per-bucket logit bias or q.r / k.r terms; "
      "zero-initialised, on top of a base scheme.";
  m.params = {
      {"mode",
       ParamType::Choice,
       "contextual",
       -INFINITY,
       INFINITY,
       {"contextual", "bias"},
       "contextual: a d_head vector per bucket dotted with q (and/or k); bias: a learned scalar "
       "per bucket"},
      {"on",
       ParamType::String,
       "k",
       -INFINITY,
       INFINITY,
       {},
       "contextual sites: k (q_i.r), q (k_j.r) or qk; v (value term) is not supported; bias mode "
       "takes k only"},
      {"shared_heads",
       ParamType::Choice,
       "auto",
       -INFINITY,
       INFINITY,
       {"auto", "true", "false"},
       "one table for all heads; auto = true for contextual, false for bias (paper Tab. 2)"},
      {"alpha",
       ParamType::Float,
       16.0,
       0.0,
       1e9,
       {},
       "distances up to alpha get one bucket each (rounded)"},
      {"beta",
       ParamType::Float,
       32.0,
       0.0,
       1e6,
       {},
       "largest bucket index B = floor(beta); prefer an integer"},
      {"gamma",
       ParamType::Float,
       128.0,
       0.0,
       1e12,
       {},
       "distance at which the logarithmic part reaches beta; everything from about there shares "
       "bucket B"},
      {"sink_bucket",
       ParamType::Bool,
       false,
       -INFINITY,
       INFINITY,
       {},
       "pairs whose key is the window's first token use an extra bucket B+1 (BOS / attention "
       "sink)"},
      {"base",
       ParamType::Choice,
       "nope",
       -INFINITY,
       INFINITY,
       {"nope", "rope", "learned"},
       "the position scheme iRPE is added to"},
      {"rope_theta",
       ParamType::Float,
       10000.0,
       1.0,
       1e12,
       {},
       "rope_theta of a rope base (half pairing, all dims rotated); ignored otherwise"},
  };
  m.validate = [](const nlohmann::json& p, const MethodContext& c) -> std::string {
    const auto on = p["on"].get<std::string>();
    if (on.find('v') != std::string::npos)
      return "on: the value term (v) is not supported: it needs the attention probabilities, "
             "which the model's attention hooks do not expose; use k, q or qk";
    if (on != "k" && on != "q" && on != "qk" && on != "kq")
      return "on: must be k, q or qk (got '" + on + "')";
    if (p["mode"] == "bias" && on != "k")
      return "on: bias mode has one input-independent scalar per bucket, so a q site would only "
             "add a second, identical table; use on: k";
    const double a = p["alpha"].get<double>(), b = p["beta"].get<double>(),
                 g = p["gamma"].get<double>();
    if (!(a > 0)) return "alpha: must be > 0";
    if (b < a) return "beta: must be >= alpha (" + std::to_string(a) + ")";
    if (!(g > a)) return "gamma: must be > alpha (" + std::to_string(a) + ")";
    if (p["base"] == "rope" && c.head_dim % 2 != 0)
      return "base: rope needs an even head_dim (got " + std::to_string(c.head_dim) + ")";
    return "";
  };
  return m;
}

}  // namespace ctx
