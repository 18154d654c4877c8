// What evaluations return, as plain values: perplexity at a length, retrieval accuracy per cell.
// Kept at the bottom so that training and the CLI name results without including eval/.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ctx {

struct PplResult {
  int64_t length = 0;
  std::string mode;
  double loss = 0;  // mean nats per scored token
  double ppl = 0;
  int64_t tokens = 0;  // scored tokens
  int64_t windows = 0;
  bool packed = false;  // no document was long enough: documents were joined with BOS
  std::vector<float>
      position_loss;  // [length]: mean loss at each window position (NaN if unscored)
  std::vector<int64_t> position_count;
  double seconds = 0;
};

struct RetrievalExample {
  std::string expected, got;
};

struct RetrievalCell {
  int64_t length = 0;
  double y = 0;  // passkey: depth fraction or -1; needle: depth percent; kvretrieval: bin centre
  int64_t trials = 0, correct = 0;
  double accuracy() const {
    return trials ? static_cast<double>(correct) / static_cast<double>(trials) : 0.0;
  }
  double mean_depth = 0;                   // realised depth (fraction) or relative pair position
  double mean_pairs = 0;                   // kvretrieval
  std::vector<RetrievalExample> examples;  // the first few outputs
};

struct RetrievalResult {
  std::string task;
  std::vector<RetrievalCell> cells;
  double seconds = 0;
  std::string filler;
  uint64_t seed = 0;
};

}  // namespace ctx
