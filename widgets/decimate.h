// Min/max decimation for long series (as PlotJuggler and most scopes do): per horizontal pixel,
// keep the smallest and the largest value, in the order they occur, so spikes and divergences
// survive however many points there are. Never random sampling.
#pragma once

#include <cstddef>
#include <vector>

namespace ctx::gui {

struct XY {
  std::vector<double> x, y;
};

// `x` ascending. Points outside [x_lo, x_hi] are dropped except the nearest one on each side (so
// lines run to the edge). When more than 2 points fall into a bucket, only its min and max remain.
// `log_x` makes buckets equal in log x (x <= 0 then land in the first bucket). NaN values are
// skipped (a diverged run's last loss is NaN).
XY decimate_minmax(const double* x, const double* y, size_t n, double x_lo, double x_hi, int buckets,
                   bool log_x = false);

}  // namespace ctx::gui
