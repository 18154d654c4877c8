// A QCustomPlot with what every CtxLab plot needs: export to PNG, SVG and PDF (context menu and
// exportTo), drag/zoom, and long series drawn through min/max decimation at the current zoom.
#pragma once

#include <qcustomplot.h>

#include <map>
#include <memory>
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

  // Gives `graph` the full series; it is drawn decimated to about two points per pixel of the
  // visible x range and re-decimated when the range or the size changes.
  void setSeries(QCPGraph* graph, std::vector<double> x, std::vector<double> y);
  // Re-decimates every series for the current ranges (call before replot after rescaling axes).
  void refreshSeries();
  // Fits the axes to the data of all series (decimation aside) and replots.
  void fitAndReplot();
  // A centred grey message in an otherwise empty plot ("select a run", "no evaluation yet"),
  // wrapped at spaces to the width of the axis rect so it never runs past the plot's edges.
  void setEmptyMessage(const QString& text);
  QString emptyMessage() const { return message_text_; }

 signals:
  void exported(const QString& path);

 protected:
  void resizeEvent(QResizeEvent* e) override;
  void contextMenuEvent(QContextMenuEvent* e) override;

 private:
  struct Full {
    std::vector<double> x, y;
  };
  std::map<QCPGraph*, Full> full_;
  void wrap_message();
  QCPItemText* message_ = nullptr;
  QString message_text_;
  bool refreshing_ = false;
};

// One colour per position in a selection, the same in every tab.
QColor runColor(int index);
// "#12 yarn-x8": how plots and legends name a run.
QString runLabel(int64_t id, const std::string& name);

}  // namespace ctx::gui
