// Plot titles, reference lines and gradient colours; see plot_decor.h.
#include "widgets/plot_decor.h"

#include <algorithm>

namespace ctx::gui {

void setPlotTitle(PlotView* plot, const QString& title) {
  auto* layout = plot->plotLayout();
  QCPTextElement* el = nullptr;
  if (layout->rowCount() > 0) el = qobject_cast<QCPTextElement*>(layout->element(0, 0));
  if (!el) {
    layout->insertRow(0);
    el = new QCPTextElement(plot, title, QFont(plot->font().family(), 10, QFont::Bold));
    layout->addElement(0, 0, el);
  }
  el->setText(title);
}

void addReferenceLine(PlotView* plot, double y, const QColor& color, const QString& label) {
  auto* line = new QCPItemStraightLine(plot);
  line->point1->setTypeY(QCPItemPosition::ptPlotCoords);
  line->point2->setTypeY(QCPItemPosition::ptPlotCoords);
  line->point1->setTypeX(QCPItemPosition::ptAxisRectRatio);
  line->point2->setTypeX(QCPItemPosition::ptAxisRectRatio);
  line->point1->setCoords(0, y);
  line->point2->setCoords(1, y);
  line->setPen(QPen(color, 1.2, Qt::DashLine));
  auto* text = new QCPItemText(plot);
  text->position->setTypeX(QCPItemPosition::ptAxisRectRatio);
  text->position->setTypeY(QCPItemPosition::ptPlotCoords);
  text->position->setCoords(0.99, y);
  text->setPositionAlignment(Qt::AlignRight | Qt::AlignBottom);
  text->setText(label);
  text->setColor(color);
  text->setFont(QFont(plot->font().family(), 8));
  line->setProperty("ctx_reference", true);
  text->setProperty("ctx_reference", true);
}

void clearReferenceLines(PlotView* plot) {
  for (int i = plot->itemCount() - 1; i >= 0; --i)
    if (plot->item(i)->property("ctx_reference").toBool()) plot->removeItem(i);
}

QCPColorGradient viridisGradient() {
  // QCustomPlot 2.1 has no viridis preset: its nine stops.
  static const char* stops[] = {"#440154", "#482878", "#3e4989", "#31688e", "#26828e",
                                "#1f9e89", "#35b779", "#6ece58", "#fde725"};
  QCPColorGradient g;
  g.clearColorStops();
  for (int k = 0; k < 9; ++k) g.setColorStopAt(k / 8.0, QColor(stops[k]));
  g.setLevelCount(256);
  return g;
}

QColor gradientColor(double t) {
  static QCPColorGradient g = viridisGradient();  // color() caches its lookup table: not const
  const QColor c = QColor::fromRgb(g.color(std::clamp(t, 0.0, 1.0), QCPRange(0, 1)));
  return c.darker(115);
}

}  // namespace ctx::gui
