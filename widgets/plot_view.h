// A QCustomPlot with what every CtxLab plot needs: export to PNG, SVG and PDF (context menu and
// exportTo), drag/zoom, fitting to the data, and an empty-state message. Long series are drawn
// by QCustomPlot's adaptive sampling (min and max per pixel column, on by default): a hand-written
// min/max decimation was measured against it and removed (README, ctxlab-bench-gui).
#pragma once

#include <qcustomplot.h>

#include <vector>

namespace ctx::gui {

class PlotView : public QCustomPlot {
  Q_OBJECT
 public:
  explicit PlotView(QWidget* parent = nullptr);
  ~PlotView() override;

  // Writes the plot to `path`; the format follows the suffix (.png, .svg, .pdf). Returns an empty
  // string on success, else a one-line message naming the file.
  QString exportTo(const QString& path, int width = 0, int height = 0);

  // Gives `graph` the series (x ascending, NaN values leave a gap).
  void setSeries(QCPGraph* graph, const std::vector<double>& x, const std::vector<double>& y);
  // Fits the axes to the data of all visible graphs (finite values; positive ones on log axes)
  // and replots.
  void fitAndReplot();
  // A centred grey message in an otherwise empty plot ("select a run", "no evaluation yet"),
  // wrapped at spaces to the width of the axis rect so it never runs past the plot's edges.
  void setEmptyMessage(const QString& text);
  QString emptyMessage() const { return message_text_; }

 signals:
  void exported(const QString& path);

 protected:
  void contextMenuEvent(QContextMenuEvent* e) override;

 private:
  void wrap_message();
  QCPItemText* message_ = nullptr;
  QString message_text_;
};

// One colour per position in a selection, the same in every tab.
QColor runColor(int index);
// "#12 yarn-x8": how plots and legends name a run.
QString runLabel(int64_t id, const std::string& name);

}  // namespace ctx::gui
