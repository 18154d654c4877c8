// PlotView: export, series, fitting, empty-state message, context menu; see plot_view.h.
#include "widgets/plot_view.h"

#include <QFileDialog>
#include <QFileInfo>
#include <QMenu>
#include <QSvgGenerator>

#include <algorithm>
#include <cmath>
#include <map>

namespace ctx::gui {

PlotView::PlotView(QWidget* parent) : QCustomPlot(parent) {
  setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
  setNoAntialiasingOnDrag(true);
  setAntialiasedElements(QCP::aeNone);
  legend->setFont(QFont(font().family(), 8));
  legend->setBrush(QBrush(QColor(255, 255, 255, 210)));
  message_ = new QCPItemText(this);
  message_->position->setType(QCPItemPosition::ptAxisRectRatio);
  message_->position->setCoords(0.5, 0.5);
  message_->setColor(QColor(130, 130, 130));
  message_->setFont(QFont(font().family(), 11));
  message_->setVisible(false);
  // After the layout, before drawing: the axis rect's width is known.
  connect(this, &QCustomPlot::afterLayout, this, [this] { wrap_message(); });
}

PlotView::~PlotView() = default;  // out of line: the vtable lives here

QString PlotView::exportTo(const QString& path, int width, int height) {
  const QString suffix = QFileInfo(path).suffix().toLower();
  const int w = width > 0 ? width : this->width();
  const int h = height > 0 ? height : this->height();
  bool ok = false;
  if (suffix == "png") {
    ok = savePng(path, w, h, 2.0);
  } else if (suffix == "pdf") {
    ok = savePdf(path, w, h);
  } else if (suffix == "svg") {
    QSvgGenerator gen;
    gen.setFileName(path);
    gen.setSize(QSize(w, h));
    gen.setViewBox(QRect(0, 0, w, h));
    gen.setTitle("CtxLab plot");
    QCPPainter painter;
    ok = painter.begin(&gen);
    if (ok) {
      toPainter(&painter, w, h);
      painter.end();
      ok = QFileInfo(path).size() > 0;
    }
  } else {
    return "export: '" + path + "' has no known suffix (use .png, .svg or .pdf)";
  }
  if (!ok) return "export: could not write '" + path + "'";
  emit exported(path);
  return {};
}

void PlotView::setSeries(QCPGraph* graph, const std::vector<double>& x, const std::vector<double>& y) {
  const size_t n = std::min(x.size(), y.size());
  QVector<QCPGraphData> d(static_cast<qsizetype>(n));
  for (size_t k = 0; k < n; ++k) d[static_cast<qsizetype>(k)] = QCPGraphData(x[k], y[k]);
  graph->data()->set(d, std::is_sorted(x.begin(), x.begin() + static_cast<std::ptrdiff_t>(n)));
}

void PlotView::fitAndReplot() {
  bool any = false;
  QCPRange xr;
  std::map<QCPAxis*, QCPRange> yr;  // per value axis: a second one (yAxis2) fits on its own
  auto grow = [](QCPRange& r, double v, bool first) {
    if (first) {
      r = QCPRange(v, v);
    } else {
      r.expand(v);
    }
  };
  const bool log_x = xAxis->scaleType() == QCPAxis::stLogarithmic;
  for (int i = 0; i < graphCount(); ++i) {
    auto* g = graph(i);
    if (!g->visible()) continue;
    QCPAxis* value_axis = g->valueAxis();
    const bool log_y = value_axis->scaleType() == QCPAxis::stLogarithmic;
    auto visit = [&](double x, double y) {
      if (!std::isfinite(x) || !std::isfinite(y) || (log_x && x <= 0) || (log_y && y <= 0)) return;
      grow(xr, x, !any);
      const bool first = !yr.count(value_axis);
      grow(yr[value_axis], y, first);
      any = true;
    };
    for (auto p = g->data()->constBegin(); p != g->data()->constEnd(); ++p) visit(p->key, p->value);
  }
  if (any) {
    auto pad = [](QCPRange r, bool log) {
      if (log) return QCPRange(r.lower / 1.15, r.upper * 1.15);
      const double m = r.size() > 0 ? r.size() * 0.04 : std::max(std::abs(r.lower) * 0.1, 1.0);
      return QCPRange(r.lower - m, r.upper + m);
    };
    xAxis->setRange(pad(xr, log_x));
    for (auto& [axis, r] : yr) axis->setRange(pad(r, axis->scaleType() == QCPAxis::stLogarithmic));
  }
  replot(QCustomPlot::rpQueuedReplot);
}

void PlotView::setEmptyMessage(const QString& text) {
  message_text_ = text;
  message_->setText(text);
  message_->setVisible(!text.isEmpty());
  wrap_message();
}

void PlotView::wrap_message() {
  if (message_text_.isEmpty()) return;
  // Before the first layout the axis rect has no real width: the text stays whole until then.
  if (axisRect()->width() < 100) {
    if (message_->text() != message_text_) message_->setText(message_text_);
    return;
  }
  const int room = axisRect()->width() - 16;
  const QFontMetrics fm(message_->font());
  QStringList lines;
  for (const QString& para : message_text_.split('\n')) {
    QString line;
    for (const QString& word : para.split(' ', Qt::SkipEmptyParts)) {
      const QString candidate = line.isEmpty() ? word : line + ' ' + word;
      if (!line.isEmpty() && fm.horizontalAdvance(candidate) > room) {
        lines << line;
        line = word;
      } else {
        line = candidate;
      }
    }
    lines << line;
  }
  const QString wrapped = lines.join('\n');
  if (message_->text() != wrapped) message_->setText(wrapped);
}

void PlotView::contextMenuEvent(QContextMenuEvent* e) {
  QMenu menu(this);
  for (const char* fmt : {"PNG", "SVG", "PDF"}) {
    menu.addAction(QString("Export %1…").arg(fmt), this, [this, fmt] {
      const QString suffix = QString(fmt).toLower();
      const QString path = QFileDialog::getSaveFileName(this, QString("Export plot as %1").arg(fmt),
                                                        "plot." + suffix, QString("%1 (*.%2)").arg(fmt, suffix));
      if (path.isEmpty()) return;
      const QString err = exportTo(path);
      if (!err.isEmpty()) QMessageBox::warning(this, "Export", err);
    });
  }
  menu.addSeparator();
  menu.addAction("Fit to data", this, [this] { fitAndReplot(); });
  menu.exec(e->globalPos());
}

QColor runColor(int index) {
  // Tableau 10: distinguishable on white, and in print.
  static const QColor palette[] = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44},  {214, 39, 40},
                                   {148, 103, 189}, {140, 86, 75}, {227, 119, 194}, {127, 127, 127},
                                   {188, 189, 34},  {23, 190, 207}};
  return palette[static_cast<size_t>(index < 0 ? 0 : index) % 10];
}

QString runLabel(int64_t id, const std::string& name) {
  return QString("#%1 %2").arg(id).arg(QString::fromStdString(name));
}

}  // namespace ctx::gui
