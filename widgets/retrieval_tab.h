// The retrieval tab: passkey accuracy against length per selected run, a depth × length accuracy
// grid per run (needle, or passkey at fixed depths) on one colour scale with cells annotated, and
// key-value retrieval accuracy against the queried pair's position (the lost-in-the-middle curve).
#pragma once

#include <QComboBox>
#include <QLabel>

#include "widgets/heatmap_row.h"
#include "widgets/plot_tab.h"
#include "widgets/retrieval_data.h"

namespace ctx::gui {

class RetrievalTab : public PlotTab {
  Q_OBJECT
 public:
  explicit RetrievalTab(DataCache* cache, QWidget* parent = nullptr);

  QList<PlotView*> plots() const override { return {passkey_, grid_, kv_}; }
  void setDepthTask(const QString& task);  // "needle" | "passkey"
  // The grid drawn for `run` and its colour map (cell (length index, depth index)); null when absent.
  const DepthGrid* grid(qint64 run) const;
  QCPColorMap* gridMap(qint64 run) const;
  QString cellText(qint64 run, int length_index, int depth_index) const;
  // Every retrieval result of the selected runs, one row each.
  QString csv() const;

  // For the empty states: how to get results of `task` (a passkey depth grid needs --depths).
  static QString fillHint(const QString& task, bool grid = false);

 protected:
  void redraw() override;

 private:
  void drawPasskey(const std::vector<int64_t>& runs);
  void drawGrids(const std::vector<int64_t>& runs);
  void drawKv(const std::vector<int64_t>& runs);
  void hover(QMouseEvent* e);

  QString depth_task_ = "needle";
  std::vector<std::pair<qint64, DepthGrid>> grids_;  // panel order
  QComboBox* task_box_;
  QLabel* hover_;
  PlotView *passkey_, *grid_, *kv_;
  HeatmapRow* row_;
};

}  // namespace ctx::gui
