// Small decorations the analysis tabs share on their plots: a title row, labelled horizontal
// reference lines, and colours along a gradient.
#pragma once

#include <QColor>
#include <QString>

#include "widgets/plot_view.h"

namespace ctx::gui {

// Sets (creating on first use) a bold title above the plot's axis rect.
void setPlotTitle(PlotView* plot, const QString& title);
// A dashed horizontal line at `y` across the axis rect with `label` at its right end.
void addReferenceLine(PlotView* plot, double y, const QColor& color, const QString& label);
// Removes the reference lines (and only them: the plot's empty-message item stays).
void clearReferenceLines(PlotView* plot);
// Viridis: perceptually even, readable in grey, fine for colour-blind readers.
QCPColorGradient viridisGradient();
// A colour for t in [0, 1] along a perceptually even gradient (viridis, darkened a little so the
// light end stays visible on white).
QColor gradientColor(double t);

}  // namespace ctx::gui
