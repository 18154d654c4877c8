// Side-by-side colour maps in one PlotView sharing one colour scale (attention maps per length,
// needle grids per run): panels are axis rects in a row, a single colour bar at the right, and a
// hit test from a mouse position to (panel, cell). Exporting the PlotView exports the whole row.
#pragma once

#include <QObject>
#include <QString>

#include "widgets/plot_view.h"

namespace ctx::gui {

class HeatmapRow : public QObject {
  Q_OBJECT
 public:
  HeatmapRow(PlotView* plot, const QString& color_label);

  // Rebuilds the row with `n` panels (n >= 1), each with an empty colour map on the shared scale;
  // n = 0 leaves one bare panel with its axes and the colour bar hidden (for an empty message).
  void setPanelCount(int n);
  int panelCount() const { return static_cast<int>(maps_.size()); }
  QCPColorMap* map(int k) const { return maps_.at(static_cast<size_t>(k)); }
  QCPAxisRect* panel(int k) const { return rects_.at(static_cast<size_t>(k)); }
  QCPColorScale* scale() const { return scale_; }
  // Sets a panel's title (above it).
  void setTitle(int k, const QString& title);

  struct Hit {
    int panel = -1, key = -1, value = -1;  // cell indices of the colour map's data
  };
  Hit hitTest(const QPointF& pos) const;

 private:
  PlotView* plot_;
  QCPLayoutGrid* row_;
  QCPColorScale* scale_;
  QCPMarginGroup* margins_;
  std::vector<QCPAxisRect*> rects_;
  std::vector<QCPColorMap*> maps_;
};

}  // namespace ctx::gui
