// The CUDA autocast state (enabled, dtype) as a value: saved where a computation starts and
// restored where it is re-run (activation checkpointing recomputes blocks in the backward pass,
// outside the forward's precision scope). Hides the autocast API change of LibTorch 2.4.
#pragma once

#include <c10/core/ScalarType.h>

namespace ctx {

struct AutocastState {
  bool enabled = false;
  c10::ScalarType dtype = c10::ScalarType::Half;
};

AutocastState cuda_autocast_state();
void set_cuda_autocast_state(const AutocastState& s);

// Sets `s` for its lifetime and restores what was there before.
class AutocastRestore {
 public:
  explicit AutocastRestore(const AutocastState& s);
  ~AutocastRestore();
  AutocastRestore(const AutocastRestore&) = delete;
  AutocastRestore& operator=(const AutocastRestore&) = delete;

 private:
  AutocastState previous_;
};

}  // namespace ctx
