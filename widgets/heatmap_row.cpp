// HeatmapRow: panels, shared colour scale, hit test; see heatmap_row.h.
#include "widgets/heatmap_row.h"

#include <cmath>

#include "widgets/plot_decor.h"

namespace ctx::gui {
namespace {

void styleTitleAxis(QCPAxis* top) {
  top->setVisible(true);
  top->setTicks(false);
  top->setTickLabels(false);
  top->setBasePen(Qt::NoPen);
  top->setLabelFont(QFont(top->labelFont().family(), 9, QFont::Bold));
  top->setLabelPadding(2);
}

// The cell whose extent holds `c` along one axis of a colour map (cell centres spread evenly over
// `range`; a single cell is one unit wide), or -1 outside the map.
int cellIndex(double c, const QCPRange& range, int n) {
  if (n <= 0) return -1;
  const double step = n > 1 ? range.size() / (n - 1) : 1.0;
  if (step <= 0) return -1;
  const double u = (c - range.lower) / step;
  const int i = static_cast<int>(std::floor(u + 0.5));
  return i >= 0 && i < n ? i : -1;
}

}  // namespace

HeatmapRow::HeatmapRow(PlotView* plot, const QString& color_label) : QObject(plot), plot_(plot) {
  // The default axis rect stays panel 0 (PlotView's axes and empty message live on it); it moves
  // into a nested row so a title row above can span all panels.
  auto* main = plot->plotLayout();
  QCPAxisRect* first = plot->axisRect();
  main->take(first);
  main->simplify();
  row_ = new QCPLayoutGrid;
  main->addElement(0, 0, row_);
  row_->addElement(0, 0, first);
  row_->setColumnSpacing(8);
  rects_.push_back(first);
  scale_ = new QCPColorScale(plot);
  scale_->setType(QCPAxis::atRight);
  scale_->axis()->setLabel(color_label);
  scale_->setBarWidth(12);
  scale_->setGradient(viridisGradient());
  row_->addElement(0, 1, scale_);
  row_->setColumnStretchFactor(1, 0.01);
  margins_ = new QCPMarginGroup(plot);
  first->setMarginGroup(QCP::msTop | QCP::msBottom, margins_);
  scale_->setMarginGroup(QCP::msTop | QCP::msBottom, margins_);
  styleTitleAxis(first->axis(QCPAxis::atTop));
}

void HeatmapRow::setPanelCount(int n) {
  for (auto* m : maps_) plot_->removePlottable(m);
  maps_.clear();
  while (rects_.size() > 1) {
    row_->remove(rects_.back());
    rects_.pop_back();
  }
  row_->take(scale_);
  row_->simplify();
  for (int k = 1; k < n; ++k) {
    auto* r = new QCPAxisRect(plot_);
    r->setMarginGroup(QCP::msTop | QCP::msBottom, margins_);
    styleTitleAxis(r->axis(QCPAxis::atTop));
    row_->addElement(0, k, r);
    rects_.push_back(r);
  }
  const int cols = std::max(n, 1);
  row_->addElement(0, cols, scale_);
  for (int k = 0; k < cols; ++k) row_->setColumnStretchFactor(k, 1);
  row_->setColumnStretchFactor(cols, 0.01);
  for (int k = 0; k < n; ++k) {
    auto* r = rects_[static_cast<size_t>(k)];
    auto* m = new QCPColorMap(r->axis(QCPAxis::atBottom), r->axis(QCPAxis::atLeft));
    m->setInterpolate(false);
    m->setTightBoundary(false);  // whole cells: the outer ones reach the axis ends
    m->setColorScale(scale_);
    maps_.push_back(m);
  }
  scale_->setVisible(n > 0);
  auto* first = rects_.front();
  for (auto t : {QCPAxis::atBottom, QCPAxis::atLeft}) first->axis(t)->setVisible(n > 0);
  first->axis(QCPAxis::atTop)->setLabel(QString());
}

void HeatmapRow::setTitle(int k, const QString& title) { rects_.at(static_cast<size_t>(k))->axis(QCPAxis::atTop)->setLabel(title); }

HeatmapRow::Hit HeatmapRow::hitTest(const QPointF& pos) const {
  Hit h;
  for (size_t k = 0; k < maps_.size(); ++k) {
    auto* r = rects_[k];
    if (!r->rect().contains(pos.toPoint())) continue;
    const double x = r->axis(QCPAxis::atBottom)->pixelToCoord(pos.x());
    const double y = r->axis(QCPAxis::atLeft)->pixelToCoord(pos.y());
    const auto* d = maps_[k]->data();
    const int ki = cellIndex(x, d->keyRange(), d->keySize());
    const int vi = cellIndex(y, d->valueRange(), d->valueSize());
    if (ki < 0 || vi < 0) continue;
    h.panel = static_cast<int>(k);
    h.key = ki;
    h.value = vi;
    return h;
  }
  return h;
}

}  // namespace ctx::gui
