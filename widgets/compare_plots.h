// The compare tab's plots: perplexity against length of the selected runs overlaid (one evaluation
// mode at a time: nonoverlap, sliding, longdoc), or each run relative to a chosen reference run
// (ratio or difference at the lengths both have); and a bar chart of one row of the results table,
// one bar per run in the run colours, each labelled with its value.
#pragma once

#include <QComboBox>
#include <QLabel>
#include <QWidget>

#include <functional>
#include <string>
#include <vector>

#include "store/run_store.h"
#include "widgets/plot_view.h"

namespace ctx::gui {

struct PplCurve {
  std::vector<double> length, value;  // ascending lengths
};
// Perplexity by length of one mode (task "ppl", metric "ppl"); the latest step wins a length.
PplCurve pplCurve(const std::vector<store::EvalRecord>& evals, const std::string& mode);
// The modes a run's perplexity was evaluated in.
std::vector<std::string> pplModes(const std::vector<store::EvalRecord>& evals);

enum class RelativeTo { None, Ratio, Difference };
// `run` against `ref` at the lengths both have: run / ref (Ratio) or run − ref (Difference);
// `run` itself for None.
PplCurve relativeCurve(const PplCurve& run, const PplCurve& ref, RelativeTo kind);

class ComparePlots : public QWidget {
  Q_OBJECT
 public:
  explicit ComparePlots(QWidget* parent = nullptr);

  struct RunData {
    qint64 run = 0;
    QString label;
    QColor color;
    std::vector<store::EvalRecord> evals;
  };
  struct ResultRow {
    QString label;
    std::vector<double> values;  // per run, NaN where the run has none
  };
  // Picks the mode to show among those present (`current` when present): the tab's preference.
  using ModeChooser = std::function<QString(const QStringList& present, const QString& current)>;
  void setModeChooser(ModeChooser f) { choose_mode_ = std::move(f); }
  // Redraws both plots for these runs (in order) and the results table's numeric rows.
  void setData(std::vector<RunData> runs, std::vector<ResultRow> rows);

  void setMode(const QString& mode);
  QString mode() const { return mode_box_->currentText(); }
  void setRelative(RelativeTo kind);
  RelativeTo relative() const;
  void setReference(qint64 run);
  qint64 reference() const { return reference_; }
  void setBarRow(const QString& label);
  QString barRow() const { return bar_row_; }

  PlotView* pplPlot() const { return ppl_; }
  PlotView* barPlot() const { return bars_; }
  // The line of a run in the perplexity plot (null when it has no points in the shown mode).
  QCPGraph* pplGraph(qint64 run) const;
  // The bar drawn for a run (its height is the value), null when the run has none in the row.
  QCPBars* bar(qint64 run) const;

 signals:
  void changed();  // a picker moved (the tab redraws nothing else)

 private:
  void redraw();
  void drawPpl();
  void drawBars();
  void syncBoxes();

  std::vector<RunData> runs_;
  std::vector<ResultRow> rows_;
  ModeChooser choose_mode_;
  qint64 reference_ = -1;
  QString bar_row_;
  std::map<qint64, QCPGraph*> graphs_;
  std::map<qint64, QCPBars*> bar_of_;
  QComboBox *mode_box_, *view_box_, *ref_box_, *row_box_;
  QLabel* ref_label_;
  PlotView *ppl_, *bars_;
};

}  // namespace ctx::gui
