// The position ids the training sampler presented ("positions/ids") and the query-key distances
// they made ("positions/distances"), as histograms per selected run, with the window the model
// was trained in and the length it is meant to reach marked: what PoSE, RandPos or CREAM cover.
#pragma once

#include <QComboBox>

#include <vector>

#include "widgets/plot_tab.h"

namespace ctx::gui {

// Unit-width counts summed into bins of `width` (the last bin may be partial): exact integers.
struct Rebinned {
  int64_t width = 1;
  std::vector<int64_t> counts;
  int64_t total = 0;
};
Rebinned rebin_counts(const std::vector<int64_t>& counts, int64_t width);
// The smallest power-of-two bin width that shows `n` unit bins in at most `max_bins` bins.
int64_t display_bin_width(int64_t n, int max_bins = 256);
// The counts of an i64 histogram artifact (f32/f64 ones rounded); empty for other dtypes.
std::vector<int64_t> artifact_counts(const store::Artifact& a);

class PositionsTab : public PlotTab {
  Q_OBJECT
 public:
  explicit PositionsTab(DataCache* cache, QWidget* parent = nullptr);

  QList<PlotView*> plots() const override { return {ids_, dists_}; }
  PlotView* idsPlot() const { return ids_; }
  PlotView* distancesPlot() const { return dists_; }

  void setDensity(bool on);  // density (fraction per position) or counts per bin
  bool density() const { return scale_->currentIndex() == 0; }

  // What the plots show, kept for hover text with exact counts: per plot, per run, the bins.
  struct Shown {
    QString label;
    Rebinned bins;
  };
  const std::vector<Shown>& shown(const PlotView* plot) const;

 protected:
  void redraw() override;

 private:
  void drawHistogram(PlotView* plot, const char* artifact, const char* what, std::vector<Shown>& shown);
  void hover(PlotView* plot, QMouseEvent* e);

  PlotView* ids_;
  PlotView* dists_;
  QComboBox* scale_;
  std::vector<Shown> shown_ids_, shown_dists_;
  QList<QCPAbstractItem*> marks_ids_, marks_dists_;
};

}  // namespace ctx::gui
