// Batch assembly: examples are appended row by row into flat B x T buffers with the dtypes the
// tensors will have (int64 ids, float positions and mask).
#include "data/example.h"

#include <stdexcept>
#include <string>

namespace ctx::data {

void Batch::append(const Example& ex) {
  const size_t t = ex.tokens.size();
  if (ex.targets.size() != t || ex.positions.size() != t || ex.loss_mask.size() != t) {
    throw std::invalid_argument("example fields disagree in length: tokens " + std::to_string(t) +
                                ", targets " + std::to_string(ex.targets.size()) + ", positions " +
                                std::to_string(ex.positions.size()) + ", loss_mask " +
                                std::to_string(ex.loss_mask.size()));
  }
  if (t == 0) throw std::invalid_argument("example is empty");
  // Checked before anything is appended, so a rejected example leaves the batch untouched.
  if (batch > 0 && static_cast<int64_t>(t) != seq) {
    throw std::invalid_argument("example has length " + std::to_string(t) +
                                " but the batch has seq " + std::to_string(seq));
  }
  if (batch == 0) seq = static_cast<int64_t>(t);
  tokens.insert(tokens.end(), ex.tokens.begin(), ex.tokens.end());
  targets.insert(targets.end(), ex.targets.begin(), ex.targets.end());
  positions.insert(positions.end(), ex.positions.begin(), ex.positions.end());
  for (uint8_t m : ex.loss_mask) loss_mask.push_back(m ? 1.0f : 0.0f);
  ++batch;
}

}  // namespace ctx::data
