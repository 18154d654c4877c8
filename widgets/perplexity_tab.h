// Perplexity against evaluation length, one line per selected run on log-log axes (lengths at
// powers of two), each run's training length marked, and the numbers in a table exportable as CSV
// in yarn's layout (one row per run, one column per length).
#pragma once

#include <QComboBox>
#include <QTableWidget>

#include <map>
#include <nlohmann/json.hpp>

#include "widgets/plot_tab.h"

namespace ctx::gui {

// The length a run was trained (or fine-tuned) at: train.seq_len of its config; 0 when absent.
int64_t trained_length(const nlohmann::json& config);

// A labelled vertical line at x (a training length, a target window).
struct LengthMark {
  double x = 0;
  QColor color;
  QString text;
};
// Adds dashed vertical lines spanning the plot's height, labelled at the top, and returns the
// items made (for removal at the next redraw). Marks at the same x merge into one line: in their
// colour when they share it, grey otherwise, with their distinct texts joined.
QList<QCPAbstractItem*> add_length_marks(PlotView* plot, const std::vector<LengthMark>& marks);
// Linear ticks at multiples of a power of two (0, 128, 256, ...): positions and lengths read in
// the units people train and evaluate at.
QSharedPointer<QCPAxisTicker> pow2_linear_ticker();
// Log-scale ticks at powers of two written as integers (128, 256, ...), for length axes.
void use_pow2_log_ticks(QCPAxis* axis);

// Moves the plot's legend into a row above the plot, entries side by side (wrapping after
// `columns`): curves and mark labels inside the frame then never hide behind it.
void legend_above(PlotView* plot, int columns = 4);
// Removes items made by add_length_marks (the plot's own items, such as its message, stay).
void remove_items(PlotView* plot, QList<QCPAbstractItem*>& items);

class PerplexityTab : public PlotTab {
  Q_OBJECT
 public:
  explicit PerplexityTab(DataCache* cache, QWidget* parent = nullptr);

  QList<PlotView*> plots() const override { return {plot_}; }
  PlotView* plot() const { return plot_; }
  QTableWidget* table() const { return table_; }

  // Evaluation modes present in the selected runs ("nonoverlap", "sliding"), and the one shown.
  QStringList modes() const;
  QString mode() const { return mode_->currentText(); }
  void setMode(const QString& mode);

  // The table as CSV: run, name, train_len, then ppl per length (empty where not evaluated).
  QString csv() const;
  // Writes csv() to `path`; an empty string on success, else a one-line message naming the file.
  QString exportCsv(const QString& path) const;

 protected:
  void redraw() override;

 private:
  struct RunPpl {
    int64_t run = 0;
    QString label;
    QColor color;
    int64_t train_len = 0;
    std::map<double, store::EvalRecord> by_length;  // metric "ppl" of the shown mode
  };
  std::vector<RunPpl> collect(const QString& mode) const;
  void refreshModes();
  void fillTable(const std::vector<RunPpl>& runs);

  PlotView* plot_;
  QComboBox* mode_;
  QTableWidget* table_;
  std::vector<RunPpl> shown_;
  QList<QCPAbstractItem*> marks_;
};

}  // namespace ctx::gui
