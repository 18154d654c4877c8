// Mean loss at each position of the evaluation window ("position_loss/<mode>/<L>" artifacts), one
// line per selected run at a chosen length and mode: where in the window a method stops coping.
// Training length marked; log-x and a light window average, since per-position curves are noisy.
#pragma once

#include <QCheckBox>
#include <QComboBox>
#include <QSpinBox>

#include <vector>

#include "widgets/plot_tab.h"

namespace ctx::gui {

// Centred moving average over `window` points (shrinking at the ends, so the curve keeps its
// length and its first and last positions); NaN points are skipped. window <= 1 returns `v`.
std::vector<double> window_average(const std::vector<double>& v, int window);

class PositionLossTab : public PlotTab {
  Q_OBJECT
 public:
  explicit PositionLossTab(DataCache* cache, QWidget* parent = nullptr);

  QList<PlotView*> plots() const override { return {plot_}; }
  PlotView* plot() const { return plot_; }

  QStringList modes() const;                     // among the selected runs' artifacts
  QList<qint64> lengths(const QString& mode) const;
  QString mode() const { return mode_->currentText(); }
  qint64 length() const;
  void setMode(const QString& mode);
  void setLength(qint64 length);
  void setLogX(bool on);
  void setWindow(int positions);  // 1: no smoothing

 protected:
  void redraw() override;

 private:
  void refreshPickers();

  PlotView* plot_;
  QComboBox* mode_;
  QComboBox* length_;
  QCheckBox* log_x_;
  QSpinBox* window_;
  QList<QCPAbstractItem*> marks_;
};

}  // namespace ctx::gui
