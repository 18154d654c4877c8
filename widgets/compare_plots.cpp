// ComparePlots: perplexity overlays, differences to a reference run, result bars; see compare_plots.h.
#include "widgets/compare_plots.h"

#include <QGridLayout>
#include <QHBoxLayout>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "widgets/perplexity_tab.h"
#include "widgets/plot_decor.h"

namespace ctx::gui {

PplCurve pplCurve(const std::vector<store::EvalRecord>& evals, const std::string& mode) {
  std::map<double, std::pair<int64_t, double>> at;  // length -> (step, ppl)
  for (const auto& e : evals) {
    if (e.task != "ppl" || e.metric != "ppl" || e.mode != mode) continue;
    auto it = at.find(e.x);
    if (it == at.end() || e.step >= it->second.first) at[e.x] = {e.step, e.value};
  }
  PplCurve c;
  for (const auto& [L, sv] : at) {
    c.length.push_back(L);
    c.value.push_back(sv.second);
  }
  return c;
}

std::vector<std::string> pplModes(const std::vector<store::EvalRecord>& evals) {
  std::set<std::string> s;
  for (const auto& e : evals)
    if (e.task == "ppl" && e.metric == "ppl") s.insert(e.mode);
  return {s.begin(), s.end()};
}

PplCurve relativeCurve(const PplCurve& run, const PplCurve& ref, RelativeTo kind) {
  if (kind == RelativeTo::None) return run;
  PplCurve out;
  for (size_t i = 0; i < run.length.size(); ++i) {
    const auto it = std::find(ref.length.begin(), ref.length.end(), run.length[i]);
    if (it == ref.length.end()) continue;
    const double r = ref.value[static_cast<size_t>(it - ref.length.begin())];
    out.length.push_back(run.length[i]);
    out.value.push_back(kind == RelativeTo::Ratio ? run.value[i] / r : run.value[i] - r);
  }
  return out;
}

ComparePlots::ComparePlots(QWidget* parent) : QWidget(parent) {
  mode_box_ = new QComboBox;
  mode_box_->setToolTip(
      "Evaluation mode: nonoverlap or sliding windows of the validation split, randpos "
      "(nonoverlap windows at random sorted ids), or longdoc (whole long documents, scored "
      "at each length)");
  mode_box_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
  view_box_ = new QComboBox;
  view_box_->addItem("perplexity", static_cast<int>(RelativeTo::None));
  view_box_->addItem("ratio to reference", static_cast<int>(RelativeTo::Ratio));
  view_box_->addItem("difference to reference", static_cast<int>(RelativeTo::Difference));
  ref_box_ = new QComboBox;
  ref_box_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
  ref_box_->setToolTip("The run the others are divided by or subtracted from, length by length");
  ref_label_ = new QLabel("reference");
  row_box_ = new QComboBox;
  row_box_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
  row_box_->setToolTip("Any numeric row of the results table");

  auto* left = new QHBoxLayout;
  left->addWidget(new QLabel("mode"));
  left->addWidget(mode_box_);
  left->addWidget(view_box_);
  left->addWidget(ref_label_);
  left->addWidget(ref_box_);
  left->addStretch(1);
  auto* right = new QHBoxLayout;
  right->addWidget(new QLabel("bars of"));
  right->addWidget(row_box_);
  right->addStretch(1);

  ppl_ = new PlotView;
  bars_ = new PlotView;
  for (auto* p : {ppl_, bars_}) p->setMinimumSize(280, 200);
  ppl_->xAxis->setScaleType(QCPAxis::stLogarithmic);
  use_pow2_log_ticks(ppl_->xAxis);
  ppl_->xAxis->setLabel("evaluation length (tokens)");
  ppl_->legend->setVisible(true);
  ppl_->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignLeft | Qt::AlignTop);
  bars_->setInteractions({});
  bars_->xAxis->grid()->setVisible(false);

  auto* grid = new QGridLayout(this);
  grid->setContentsMargins(0, 0, 0, 0);
  grid->addLayout(left, 0, 0);
  grid->addLayout(right, 0, 1);
  grid->addWidget(ppl_, 1, 0);
  grid->addWidget(bars_, 1, 1);
  grid->setColumnStretch(0, 3);
  grid->setColumnStretch(1, 2);

  connect(mode_box_, &QComboBox::activated, this, [this] { redraw(); });
  connect(view_box_, &QComboBox::activated, this, [this] { redraw(); });
  connect(ref_box_, &QComboBox::activated, this, [this] { setReference(ref_box_->currentData().toLongLong()); });
  connect(row_box_, &QComboBox::activated, this, [this] { setBarRow(row_box_->currentText()); });
}

void ComparePlots::setData(std::vector<RunData> runs, std::vector<ResultRow> rows) {
  runs_ = std::move(runs);
  rows_ = std::move(rows);
  redraw();
}

void ComparePlots::setMode(const QString& mode) {
  mode_box_->setCurrentText(mode);
  redraw();
}

void ComparePlots::setRelative(RelativeTo kind) {
  view_box_->setCurrentIndex(view_box_->findData(static_cast<int>(kind)));
  redraw();
}

RelativeTo ComparePlots::relative() const { return static_cast<RelativeTo>(view_box_->currentData().toInt()); }

void ComparePlots::setReference(qint64 run) {
  reference_ = run;
  redraw();
}

void ComparePlots::setBarRow(const QString& label) {
  bar_row_ = label;
  redraw();
}

QCPGraph* ComparePlots::pplGraph(qint64 run) const {
  auto it = graphs_.find(run);
  return it == graphs_.end() ? nullptr : it->second;
}

QCPBars* ComparePlots::bar(qint64 run) const {
  auto it = bar_of_.find(run);
  return it == bar_of_.end() ? nullptr : it->second;
}

void ComparePlots::syncBoxes() {
  std::set<std::string> modes;
  for (const auto& r : runs_)
    for (const auto& m : pplModes(r.evals)) modes.insert(m);
  QStringList present;
  for (const auto& m : modes) present << QString::fromStdString(m);
  const QString want = choose_mode_ ? choose_mode_(present, mode_box_->currentText())
                                    : (present.contains(mode_box_->currentText()) ? mode_box_->currentText() : present.value(0));
  {
    QSignalBlocker block(mode_box_);
    mode_box_->clear();
    mode_box_->addItems(present);
    mode_box_->setCurrentText(want);
    mode_box_->setEnabled(present.size() > 1);
  }
  bool listed = false;
  for (const auto& r : runs_) listed = listed || r.run == reference_;
  if (!listed) reference_ = runs_.empty() ? -1 : runs_.front().run;
  {
    QSignalBlocker block(ref_box_);
    ref_box_->clear();
    for (const auto& r : runs_) ref_box_->addItem(r.label, QVariant::fromValue<qlonglong>(r.run));
    ref_box_->setCurrentIndex(ref_box_->findData(QVariant::fromValue<qlonglong>(reference_)));
  }
  const bool rel = relative() != RelativeTo::None;
  ref_box_->setVisible(rel);
  ref_label_->setVisible(rel);
  view_box_->setEnabled(runs_.size() >= 2 || rel);
  QStringList labels;
  for (const auto& row : rows_) {
    bool any = false;
    for (double v : row.values) any = any || std::isfinite(v);
    if (any) labels << row.label;
  }
  if (!labels.contains(bar_row_)) {
    // The first perplexity row of the shown mode, else the first row.
    bar_row_ = labels.value(0);
    for (const auto& l : labels)
      if (l.startsWith("ppl @") && (l.contains("(" + want + ")") || !l.contains('('))) {
        bar_row_ = l;
        break;
      }
  }
  QSignalBlocker block(row_box_);
  row_box_->clear();
  row_box_->addItems(labels);
  row_box_->setCurrentText(bar_row_);
  row_box_->setEnabled(!labels.isEmpty());
}

void ComparePlots::redraw() {
  syncBoxes();
  drawPpl();
  drawBars();
  emit changed();
}

void ComparePlots::drawPpl() {
  ppl_->clearGraphs();
  clearReferenceLines(ppl_);
  graphs_.clear();
  const QString mode = mode_box_->currentText();
  const RelativeTo kind = relative();
  const RunData* ref = nullptr;
  for (const auto& r : runs_)
    if (r.run == reference_) ref = &r;
  const PplCurve ref_curve = ref ? pplCurve(ref->evals, mode.toStdString()) : PplCurve{};
  int drawn = 0;
  for (const auto& r : runs_) {
    if (kind != RelativeTo::None && ref && r.run == ref->run) continue;  // the flat reference line stands for it
    const PplCurve c = relativeCurve(pplCurve(r.evals, mode.toStdString()), ref_curve, kind);
    if (c.length.empty()) continue;
    auto* g = ppl_->addGraph();
    g->setPen(QPen(r.color, 2));
    g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, r.color, r.color, 6));
    g->setName(r.label);
    ppl_->setSeries(g, c.length, c.value);
    graphs_[r.run] = g;
    ++drawn;
  }
  QString title = "Perplexity vs length" + (mode.isEmpty() ? QString() : " · " + mode);
  if (kind == RelativeTo::Ratio) {
    ppl_->yAxis->setLabel("perplexity ÷ reference");
    title = QString("Perplexity ratio to %1 · %2").arg(ref ? ref->label : QString("—"), mode);
  } else if (kind == RelativeTo::Difference) {
    ppl_->yAxis->setLabel("perplexity − reference");
    title = QString("Perplexity difference to %1 · %2").arg(ref ? ref->label : QString("—"), mode);
  } else {
    ppl_->yAxis->setLabel("perplexity");
  }
  setPlotTitle(ppl_, title);
  const bool log_y = kind == RelativeTo::None;
  ppl_->yAxis->setScaleType(log_y ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
  ppl_->yAxis->setTicker(log_y ? QSharedPointer<QCPAxisTicker>(new QCPAxisTickerLog) : QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
  ppl_->legend->setVisible(drawn > 0);
  if (drawn == 0) {
    QString why = runs_.empty() ? QString("Select runs to compare their perplexity")
                  : mode.isEmpty() ? QString("No perplexity evaluations in the selected runs")
                  : kind != RelativeTo::None && runs_.size() < 2 ? QString("Select two or more runs to compare with a reference")
                  : kind != RelativeTo::None ? QString("No lengths in common with the reference in mode %1").arg(mode)
                                             : QString("No %1 perplexity in the selected runs").arg(mode);
    ppl_->setEmptyMessage(why);
    ppl_->replot();
    return;
  }
  ppl_->setEmptyMessage({});
  ppl_->fitAndReplot();
  if (kind != RelativeTo::None && ref) {
    const double y = kind == RelativeTo::Ratio ? 1.0 : 0.0;
    auto r = ppl_->yAxis->range();
    r.expand(y);
    ppl_->yAxis->setRange(r.lower - 0.05 * r.size(), r.upper + 0.05 * r.size());
    addReferenceLine(ppl_, y, ref->color, "reference " + ref->label);
    ppl_->replot();
  }
}

void ComparePlots::drawBars() {
  bars_->clearPlottables();
  for (int i = bars_->itemCount() - 1; i >= 0; --i)
    if (bars_->item(i)->property("ctx_bar").toBool()) bars_->removeItem(i);
  bar_of_.clear();
  const ResultRow* row = nullptr;
  for (const auto& r : rows_)
    if (r.label == bar_row_) row = &r;
  setPlotTitle(bars_, bar_row_.isEmpty() ? QString("Results") : bar_row_);
  QSharedPointer<QCPAxisTickerText> ticks(new QCPAxisTickerText);
  double lo = 0, hi = 0;
  int drawn = 0;
  for (size_t i = 0; row && i < runs_.size() && i < row->values.size(); ++i) {
    ticks->addTick(static_cast<double>(i), runs_[i].label);
    const double v = row->values[i];
    if (!std::isfinite(v)) continue;
    auto* b = new QCPBars(bars_->xAxis, bars_->yAxis);
    b->setWidth(0.62);
    QColor fill = runs_[i].color;
    fill.setAlpha(190);
    b->setBrush(fill);
    b->setPen(QPen(runs_[i].color.darker(120), 1));
    b->setName(runs_[i].label);
    b->setData({static_cast<double>(i)}, {v});
    bar_of_[runs_[i].run] = b;
    auto* t = new QCPItemText(bars_);
    t->setProperty("ctx_bar", true);
    t->position->setCoords(static_cast<double>(i), v);
    t->setPositionAlignment(Qt::AlignHCenter | (v >= 0 ? Qt::AlignBottom : Qt::AlignTop));
    t->setText(QString::number(v, 'g', 5));
    t->setFont(QFont(bars_->font().family(), 8));
    t->setPadding(QMargins(0, 2, 0, 2));
    lo = std::min(lo, v);
    hi = std::max(hi, v);
    ++drawn;
  }
  bars_->xAxis->setTicker(ticks);
  bars_->xAxis->setTickLabelRotation(runs_.size() > 3 ? -30 : 0);
  bars_->xAxis->setRange(-0.6, std::max<double>(1, static_cast<double>(runs_.size())) - 0.4);
  const double span = hi - lo > 0 ? hi - lo : std::max(std::abs(hi), 1.0);
  bars_->yAxis->setRange(lo < 0 ? lo - 0.15 * span : 0, hi > 0 ? hi + 0.15 * span : 0.05 * span);
  bars_->setEmptyMessage(drawn ? QString() : runs_.empty() ? QString("Select runs to compare their results") : QString("No values in this row"));
  bars_->replot();
}

}  // namespace ctx::gui
