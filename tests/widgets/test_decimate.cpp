// Min/max decimation (widgets/decimate.h) and PlotView::setSeries: every bucket keeps its
// smallest and largest value, points stay in order, short series pass unchanged, NaN is skipped,
// log-x buckets are equal in log x.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>

#include "widgets/decimate.h"
#include "widgets/plot_view.h"

namespace ctx::gui {
namespace {

std::vector<double> noisy(size_t n, uint64_t seed) {
  std::vector<double> y(n);
  for (size_t i = 0; i < n; ++i) {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    y[i] = static_cast<double>(seed >> 11) / 9007199254740992.0;
  }
  return y;
}

// For buckets computed here independently of the code under test: each bucket's min and max
// (by value) must appear in the output at their own x.
void expect_bucket_extremes(const std::vector<double>& x, const std::vector<double>& y, const XY& out, double lo,
                            double hi, int buckets, bool log_x) {
  std::map<long, std::pair<size_t, size_t>> ext;  // bucket -> (argmin, argmax)
  for (size_t i = 0; i < x.size(); ++i) {
    if (std::isnan(y[i]) || x[i] < lo || x[i] > hi) continue;
    const double t = log_x ? (std::log(x[i]) - std::log(lo)) / (std::log(hi) - std::log(lo)) : (x[i] - lo) / (hi - lo);
    const long b = std::min(static_cast<long>(std::floor(t * buckets)), static_cast<long>(buckets));
    auto [it, fresh] = ext.try_emplace(b, i, i);
    if (!fresh) {
      if (y[i] < y[it->second.first]) it->second.first = i;
      if (y[i] > y[it->second.second]) it->second.second = i;
    }
  }
  std::set<std::pair<double, double>> kept;
  for (size_t k = 0; k < out.x.size(); ++k) kept.insert({out.x[k], out.y[k]});
  for (const auto& [b, mm] : ext) {
    EXPECT_TRUE(kept.count({x[mm.first], y[mm.first]})) << "bucket " << b << " lost its min at x=" << x[mm.first];
    EXPECT_TRUE(kept.count({x[mm.second], y[mm.second]})) << "bucket " << b << " lost its max at x=" << x[mm.second];
  }
}

TEST(Decimate, ShortSeriesPassesThroughUnchanged) {
  std::vector<double> x, y = noisy(150, 7);
  for (size_t i = 0; i < y.size(); ++i) x.push_back(static_cast<double>(i));
  const XY out = decimate_minmax(x.data(), y.data(), x.size(), 0, 149, 100);
  EXPECT_EQ(out.x, x);
  EXPECT_EQ(out.y, y);
}

TEST(Decimate, KeepsMinAndMaxOfEveryBucketInOrder) {
  const size_t n = 20000;
  std::vector<double> x(n), y = noisy(n, 3);
  for (size_t i = 0; i < n; ++i) x[i] = static_cast<double>(i) * 0.5;
  y[12345] = 50.0;  // a divergence spike
  y[777] = -50.0;
  const int buckets = 100;
  const XY out = decimate_minmax(x.data(), y.data(), n, x.front(), x.back(), buckets);
  ASSERT_EQ(out.x.size(), out.y.size());
  EXPECT_LE(out.x.size(), 2u * buckets + 4);
  EXPECT_GE(out.x.size(), 2u * buckets - 2);
  for (size_t k = 1; k < out.x.size(); ++k) EXPECT_LT(out.x[k - 1], out.x[k]) << "order lost at " << k;
  for (size_t k = 0; k < out.x.size(); ++k) {  // every kept point is an input point, unmoved
    const auto i = static_cast<size_t>(std::lround(out.x[k] / 0.5));
    EXPECT_EQ(out.y[k], y[i]);
  }
  expect_bucket_extremes(x, y, out, x.front(), x.back(), buckets, false);
  const auto [mn, mx] = std::minmax_element(out.y.begin(), out.y.end());
  EXPECT_EQ(*mx, 50.0);
  EXPECT_EQ(*mn, -50.0);
}

TEST(Decimate, SkipsNaNAndKeepsTheFiniteExtremes) {
  const size_t n = 5000;
  std::vector<double> x(n), y = noisy(n, 11);
  for (size_t i = 0; i < n; ++i) x[i] = static_cast<double>(i);
  for (size_t i = 0; i < n; i += 7) y[i] = std::nan("");
  const XY out = decimate_minmax(x.data(), y.data(), n, 0, static_cast<double>(n - 1), 50);
  for (double v : out.y) EXPECT_FALSE(std::isnan(v));
  expect_bucket_extremes(x, y, out, 0, static_cast<double>(n - 1), 50, false);
  // A short series with a NaN (a diverged run's last loss) loses just that point.
  const double sx[] = {1, 2, 3}, sy[] = {4, std::nan(""), 6};
  const XY s = decimate_minmax(sx, sy, 3, 1, 3, 100);
  EXPECT_EQ(s.x, (std::vector<double>{1, 3}));
  EXPECT_EQ(s.y, (std::vector<double>{4, 6}));
}

TEST(Decimate, LogXBucketsAreEqualInLogX) {
  // 1 .. 1e6, log-spaced: the first decade holds a sixth of the points; linear buckets would
  // squeeze it into one bucket (two points), log buckets give it its share.
  const size_t n = 60000;
  std::vector<double> x(n), y = noisy(n, 5);
  for (size_t i = 0; i < n; ++i) x[i] = std::pow(10.0, 6.0 * static_cast<double>(i) / static_cast<double>(n - 1));
  const int buckets = 60;
  const XY lin = decimate_minmax(x.data(), y.data(), n, 1, 1e6, buckets, false);
  const XY log = decimate_minmax(x.data(), y.data(), n, 1, 1e6, buckets, true);
  auto first_decade = [](const XY& d) { return std::count_if(d.x.begin(), d.x.end(), [](double v) { return v < 10; }); };
  EXPECT_LE(first_decade(lin), 2);
  EXPECT_GE(first_decade(log), 2 * (buckets / 6) - 2);
  expect_bucket_extremes(x, y, log, 1, 1e6, buckets, true);
  for (size_t k = 1; k < log.x.size(); ++k) EXPECT_LT(log.x[k - 1], log.x[k]);
}

TEST(Decimate, OutsideTheRangeOnlyTheNearestNeighboursStay) {
  std::vector<double> x, y;
  for (int i = 0; i < 100; ++i) {
    x.push_back(i);
    y.push_back(i * 2.0);
  }
  const XY out = decimate_minmax(x.data(), y.data(), x.size(), 40, 50, 100);
  EXPECT_EQ(out.x.front(), 39);  // one point beyond each edge, so the line reaches the frame
  EXPECT_EQ(out.x.back(), 51);
  EXPECT_EQ(out.x.size(), 13u);
}

TEST(Decimate, PlotViewSetSeriesDrawsDecimatedAndKeepsTheSpike) {
  PlotView plot;
  plot.resize(600, 400);
  plot.replot(QCustomPlot::rpImmediateRefresh);
  const size_t n = 200000;
  std::vector<double> x(n), y = noisy(n, 9);
  for (size_t i = 0; i < n; ++i) x[i] = static_cast<double>(i);
  y[123457] = 1e3;
  auto* g = plot.addGraph();
  plot.setSeries(g, x, y);
  plot.fitAndReplot();
  const int pixels = std::max(100, plot.axisRect()->width());
  EXPECT_LE(g->dataCount(), 2 * pixels + 4);
  double top = 0;
  for (auto it = g->data()->constBegin(); it != g->data()->constEnd(); ++it) top = std::max(top, it->value);
  EXPECT_EQ(top, 1e3);
  EXPECT_GE(plot.yAxis->range().upper, 1e3);  // fitted on the full series, not the decimated one
}

}  // namespace
}  // namespace ctx::gui
