// Min/max-per-pixel decimation; see decimate.h.
#include "widgets/decimate.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace ctx::gui {

XY decimate_minmax(const double* x, const double* y, size_t n, double x_lo, double x_hi, int buckets,
                   bool log_x) {
  XY out;
  if (n == 0) return out;
  size_t first = static_cast<size_t>(std::lower_bound(x, x + n, x_lo) - x);
  size_t last = static_cast<size_t>(std::upper_bound(x, x + n, x_hi) - x);  // one past
  if (first > 0) --first;
  if (last < n) ++last;
  const size_t count = last - first;
  buckets = std::max(buckets, 1);
  auto keep = [&](size_t i) {
    if (std::isnan(y[i])) return;
    out.x.push_back(x[i]);
    out.y.push_back(y[i]);
  };
  if (count <= 2 * static_cast<size_t>(buckets) + 2) {
    for (size_t i = first; i < last; ++i) keep(i);
    return out;
  }
  const bool use_log = log_x && x_lo > 0 && x_hi > x_lo;
  const double a = use_log ? std::log(x_lo) : x_lo;
  const double b = use_log ? std::log(x_hi) : x_hi;
  const double scale = b > a ? static_cast<double>(buckets) / (b - a) : 0.0;
  auto bucket_of = [&](double v) -> long {
    const double t = use_log ? (v > 0 ? std::log(v) : a) : v;
    return std::clamp(static_cast<long>(std::floor((t - a) * scale)), -1L, static_cast<long>(buckets));
  };
  out.x.reserve(4 * static_cast<size_t>(buckets) + 4);
  out.y.reserve(4 * static_cast<size_t>(buckets) + 4);
  size_t i = first;
  while (i < last) {
    const long bk = bucket_of(x[i]);
    size_t lo = SIZE_MAX, hi = SIZE_MAX;
    size_t j = i;
    for (; j < last && bucket_of(x[j]) == bk; ++j) {
      if (std::isnan(y[j])) continue;
      if (lo == SIZE_MAX || y[j] < y[lo]) lo = j;
      if (hi == SIZE_MAX || y[j] > y[hi]) hi = j;
    }
    if (lo != SIZE_MAX) {
      keep(std::min(lo, hi));
      if (lo != hi) keep(std::max(lo, hi));
    }
    i = j;
  }
  return out;
}

}  // namespace ctx::gui
