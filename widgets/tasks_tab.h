// The tasks tab: RULER-style results of the selected runs — a task × length table of scores (as
// percentages, coloured on the heatmap's scale; a title row per run giving its effective length),
// exportable as CSV, and heatmaps of the runs side by side on one colour scale: task × length, or
// depth × length of a chosen needle task, each with its run's effective length drawn as a line.
#pragma once

#include <QComboBox>
#include <QLabel>
#include <QTableWidget>

#include <map>
#include <utility>
#include <vector>

#include "widgets/heatmap_row.h"
#include "widgets/plot_tab.h"
#include "widgets/task_data.h"

namespace ctx::gui {

class TasksTab : public PlotTab {
  Q_OBJECT
 public:
  enum class View { Tasks, Depth };

  explicit TasksTab(DataCache* cache, QWidget* parent = nullptr);

  QList<PlotView*> plots() const override { return {heat_}; }
  void setView(View v);
  View view() const { return view_; }
  // The needle task the depth view shows ("niah_single_1").
  void setDepthTask(const QString& task);
  QString depthTask() const { return depth_task_; }

  const QTableWidget* table() const { return table_; }
  // The table item of (run, task, length); task "average" is the run's average row. Null when the
  // run or the cell is not in the table. Its Qt::UserRole holds the score 0..1 (NaN: not evaluated).
  QTableWidgetItem* cell(qint64 run, const QString& task, double length) const;
  // The title row of a run in the table ("#3 yarn-x8 — effective length 4096 (…)").
  QString runTitle(qint64 run) const;
  // The heatmap panel of a run (null when it has none in the current view), the shared scale, and
  // the x coordinate of the run's effective-length line on its panel (NaN when none is drawn).
  QCPColorMap* heatMap(qint64 run) const;
  QCPColorScale* colorScale() const { return row_->scale(); }
  double effectiveLineX(qint64 run) const;
  // The hover text of a heatmap cell (key = length index, value = task or depth index).
  QString cellText(qint64 run, int key, int value) const;
  QString csv() const;

  static QString fillHint();

 protected:
  void redraw() override;

 private:
  struct Panel {
    qint64 run = 0;
    TaskTable table;      // task view
    TaskDepthGrid depth;  // depth view
    EffectiveLength effective;
    double line_x = NAN;
  };
  void fillTable(const std::vector<Panel>& runs);
  void drawHeatmaps();
  void syncDepthTasks(const std::vector<Panel>& runs);
  void hover(QMouseEvent* e);

  View view_ = View::Tasks;
  QString depth_task_;
  std::vector<Panel> all_;     // every selected run with task results, selection order
  std::vector<Panel> panels_;  // those drawn in the current view
  std::map<std::pair<qint64, QString>, int> rows_;  // (run, task) -> table row; task "" = title row
  std::vector<double> table_lengths_;
  QComboBox *view_box_, *task_box_;
  QLabel* hover_;
  QTableWidget* table_;
  PlotView* heat_;
  HeatmapRow* row_;
};

}  // namespace ctx::gui
