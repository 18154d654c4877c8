// The compare tab: the selected runs side by side — the config keys on which they differ (and only
// those), then their results: perplexity per evaluation length, final loss, steps and status, the
// best value of each row highlighted. Both tables export as CSV.
#pragma once

#include <QLabel>
#include <QTableWidget>

#include "widgets/plot_tab.h"

namespace ctx::gui {

class CompareTab : public PlotTab {
  Q_OBJECT
 public:
  explicit CompareTab(DataCache* cache, QWidget* parent = nullptr);

  QList<PlotView*> plots() const override { return {}; }  // tables only
  const QTableWidget* diffTable() const { return diff_; }
  const QTableWidget* resultsTable() const { return results_; }
  QString diffCsv() const;
  QString resultsCsv() const;

 protected:
  void redraw() override;

 private:
  void fillDiff(const std::vector<int64_t>& runs);
  void fillResults(const std::vector<int64_t>& runs);
  QLabel* diff_title_;
  QLabel* results_title_;
  QTableWidget* diff_;
  QTableWidget* results_;
};

}  // namespace ctx::gui
