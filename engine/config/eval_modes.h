// The perplexity evaluation modes (eval.mode, `eval --mode`, a study's evaluations and plot):
// nonoverlap, sliding and randpos (eval/perplexity.h says what each scores). One list for every
// place that checks a mode's name. Torch-free.
#pragma once

#include <string>

namespace ctx {

inline bool is_eval_mode(const std::string& m) {
  return m == "nonoverlap" || m == "sliding" || m == "randpos";
}

// For error messages: "(nonoverlap, sliding or randpos)".
inline constexpr const char* kEvalModesText = "nonoverlap, sliding or randpos";

}  // namespace ctx
