// PlotView's series: every point reaches QCustomPlot (its adaptive sampling draws long series, min
// and max per pixel column), fitting covers the whole series, and a one-point spike in 200 000
// points is on the rendered image — what the hand-written decimation guaranteed before.
#include <gtest/gtest.h>

#include <QImage>

#include <algorithm>
#include <cmath>

#include "widgets/plot_view.h"

namespace ctx::gui {
namespace {

TEST(PlotView, LongSeriesKeepEveryPointAndTheSpikeIsDrawn) {
  PlotView plot;
  plot.resize(600, 400);
  plot.replot(QCustomPlot::rpImmediateRefresh);
  const size_t n = 200000;
  std::vector<double> x(n), y(n);
  uint64_t seed = 9;
  for (size_t i = 0; i < n; ++i) {
    x[i] = static_cast<double>(i);
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    y[i] = static_cast<double>(seed >> 11) / 9007199254740992.0;  // noise in [0, 1)
  }
  const size_t spike = 123457;
  y[spike] = 1e3;
  auto* g = plot.addGraph();
  g->setPen(QPen(QColor(0, 0, 255), 1));
  plot.setSeries(g, x, y);
  EXPECT_EQ(g->dataCount(), static_cast<int>(n));
  EXPECT_TRUE(g->adaptiveSampling());
  plot.fitAndReplot();
  EXPECT_GE(plot.yAxis->range().upper, 1e3);
  EXPECT_LE(plot.xAxis->range().lower, 0);
  EXPECT_GE(plot.xAxis->range().upper, static_cast<double>(n - 1));

  const QImage img = plot.toPixmap(600, 400, 1.0).toImage();
  const int col = static_cast<int>(std::lround(plot.xAxis->coordToPixel(static_cast<double>(spike))));
  const int top = static_cast<int>(std::lround(plot.yAxis->coordToPixel(1e3)));
  const int mid = static_cast<int>(std::lround(plot.yAxis->coordToPixel(500)));
  // Half-way up the spike, far above the noise: the line is there, within a pixel of its column.
  bool drawn = false;
  for (int c = col - 1; c <= col + 1; ++c) {
    const QColor px = img.pixelColor(c, mid);
    drawn = drawn || (px.blue() > 150 && px.red() < 120);
  }
  EXPECT_TRUE(drawn) << "no line at column " << col << " between y=" << top << " and the noise";
}

TEST(PlotView, NanLeavesAGapAndIsNotFitted) {
  PlotView plot;
  plot.resize(400, 300);
  auto* g = plot.addGraph();
  plot.setSeries(g, {1, 2, 3, 4}, {1.0, 2.0, std::nan(""), 8.0});
  plot.fitAndReplot();
  EXPECT_EQ(g->dataCount(), 4);
  EXPECT_TRUE(std::isfinite(plot.yAxis->range().upper));
  EXPECT_GE(plot.yAxis->range().upper, 8.0);
}

}  // namespace
}  // namespace ctx::gui
