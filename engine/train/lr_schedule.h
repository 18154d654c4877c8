// Learning-rate schedule: linear warmup, then cosine decay to lr * min_ratio at the last step.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace ctx {

inline double lr_at(int64_t step, int64_t total, int64_t warmup, double lr, double min_ratio) {
  // step counts from 1.
  if (warmup > 0 && step <= warmup) return lr * static_cast<double>(step) / static_cast<double>(warmup);
  const double span = static_cast<double>(std::max<int64_t>(total - warmup, 1));
  const double t = std::clamp(static_cast<double>(step - warmup) / span, 0.0, 1.0);
  const double cosine = 0.5 * (1.0 + std::cos(M_PI * t));
  return lr * (min_ratio + (1.0 - min_ratio) * cosine);
}

}  // namespace ctx
