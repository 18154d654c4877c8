// One training example as samplers produce it: input tokens, explicit (possibly fractional)
// position ids, next-token targets and a loss mask. Positions are data: nothing assumes 0..T-1.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "data/tokenizer.h"

namespace ctx::data {

struct Example {
  std::vector<Token> tokens;     // T inputs
  std::vector<Token> targets;    // T next-token targets
  std::vector<float> positions;  // T position ids (fractional allowed)
  std::vector<uint8_t> loss_mask;  // T; 1 = scored
  // What the sampler drew for this example (piece starts, CREAM's r and e, E2-LLM's g and t, ...),
  // recorded with the run so position coverage can be plotted.
  std::map<std::string, double> info;
};

// A batch laid out row-major (B x T), ready to become tensors.
struct Batch {
  int64_t batch = 0, seq = 0;
  std::vector<int64_t> tokens, targets;
  std::vector<float> positions;
  std::vector<float> loss_mask;
  void append(const Example& ex);  // throws std::invalid_argument when lengths disagree
};

}  // namespace ctx::data
