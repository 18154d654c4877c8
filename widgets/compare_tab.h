// The compare tab: the selected runs side by side — the config keys on which they differ (and only
// those), then their results: perplexity per evaluation length, final loss, steps, status and
// RULER's effective length, the best value of each row highlighted; both tables export as CSV.
// Below, plots: perplexity against length overlaid (or relative to a reference run) and a bar
// chart of any numeric row of the results table.
#pragma once

#include <QLabel>
#include <QTableWidget>

#include "widgets/compare_plots.h"
#include "widgets/plot_tab.h"

namespace ctx::gui {

class CompareTab : public PlotTab {
  Q_OBJECT
 public:
  explicit CompareTab(DataCache* cache, QWidget* parent = nullptr);

  QList<PlotView*> plots() const override { return {plots_->pplPlot(), plots_->barPlot()}; }
  ComparePlots* comparePlots() const { return plots_; }
  const QTableWidget* diffTable() const { return diff_; }
  const QTableWidget* resultsTable() const { return results_; }
  QString diffCsv() const;
  QString resultsCsv() const;

 protected:
  void redraw() override;

 private:
  void fillDiff(const std::vector<int64_t>& runs);
  // Fills the results table; returns its numeric rows for the bar chart.
  std::vector<ComparePlots::ResultRow> fillResults(const std::vector<int64_t>& runs);
  QLabel* diff_title_;
  QLabel* results_title_;
  QTableWidget* diff_;
  QTableWidget* results_;
  ComparePlots* plots_;
};

}  // namespace ctx::gui
