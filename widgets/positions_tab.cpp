// PositionsTab: position-id and distance histograms with the windows marked; see positions_tab.h.
#include "widgets/positions_tab.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QLocale>
#include <QMouseEvent>
#include <QToolTip>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "widgets/perplexity_tab.h"
#include "widgets/training_tab.h"

namespace ctx::gui {

Rebinned rebin_counts(const std::vector<int64_t>& counts, int64_t width) {
  Rebinned r;
  r.width = std::max<int64_t>(width, 1);
  const auto w = static_cast<size_t>(r.width);
  r.counts.assign((counts.size() + w - 1) / w, 0);
  for (size_t i = 0; i < counts.size(); ++i) {
    r.counts[i / w] += counts[i];
    r.total += counts[i];
  }
  return r;
}

int64_t display_bin_width(int64_t n, int max_bins) {
  int64_t w = 1;
  while ((n + w - 1) / w > std::max(max_bins, 1)) w *= 2;
  return w;
}

std::vector<int64_t> artifact_counts(const store::Artifact& a) {
  std::vector<int64_t> out;
  if (a.dtype == "i64") {
    out.resize(a.data.size() / sizeof(int64_t));
    if (!out.empty()) std::memcpy(out.data(), a.data.data(), out.size() * sizeof(int64_t));
  } else if (a.dtype == "f32") {
    for (float v : store::artifact_as_f32(a)) out.push_back(std::llround(v));
  } else if (a.dtype == "f64") {
    std::vector<double> v(a.data.size() / sizeof(double));
    if (!v.empty()) std::memcpy(v.data(), a.data.data(), v.size() * sizeof(double));
    for (double x : v) out.push_back(std::llround(x));
  }
  return out;
}

namespace {

// The window the model was trained in (the base model's, when a scaling extends it) and the
// length the run is meant to reach.
std::vector<LengthMark> window_marks(const nlohmann::json& config) {
  std::vector<LengthMark> marks;
  double window = trained_length(config);
  auto rs = config.find("rope_scaling");
  if (rs != config.end() && rs->is_object()) {
    auto o = rs->find("original_max_position_embeddings");
    if (o != rs->end() && o->is_number()) window = o->get<double>();
  }
  double target = 0;
  auto ev = config.find("eval");
  if (ev != config.end() && ev->is_object()) {
    auto ls = ev->find("lengths");
    if (ls != ev->end() && ls->is_array())
      for (const auto& l : *ls)
        if (l.is_number()) target = std::max(target, l.get<double>());
  }
  if (window > 0) marks.push_back({window, QColor(70, 70, 70), QString("training window %1").arg(window)});
  if (target > 0) marks.push_back({target, QColor(178, 34, 34), QString("eval target %1").arg(target)});
  return marks;
}

}  // namespace

PositionsTab::PositionsTab(DataCache* cache, QWidget* parent) : PlotTab(cache, parent) {
  scale_ = new QComboBox;
  scale_->addItem("density");
  scale_->addItem("counts");
  scale_->setToolTip("Density: fraction of all ids (or distances) per unit of position, comparable across runs");
  auto* bar = new QHBoxLayout;
  bar->addWidget(new QLabel("show"));
  bar->addWidget(scale_);
  bar->addStretch(1);

  ids_ = new PlotView;
  dists_ = new PlotView;
  ids_->xAxis->setLabel("position id presented in training");
  dists_->xAxis->setLabel("query–key distance presented in training");
  auto* col = new QVBoxLayout(this);
  col->addLayout(bar);
  col->addWidget(ids_, 1);
  col->addWidget(dists_, 1);
  for (PlotView* p : plots()) {
    legend_above(p);
    p->xAxis->setTicker(pow2_linear_ticker());
    connect(p, &QCustomPlot::mouseMove, this, [this, p](QMouseEvent* e) { hover(p, e); });
  }
  connect(scale_, qOverload<int>(&QComboBox::currentIndexChanged), this, [this] { scheduleRedraw(); });
}

void PositionsTab::setDensity(bool on) { scale_->setCurrentIndex(on ? 0 : 1); }

const std::vector<PositionsTab::Shown>& PositionsTab::shown(const PlotView* plot) const {
  return plot == ids_ ? shown_ids_ : shown_dists_;
}

void PositionsTab::redraw() {
  drawHistogram(ids_, "positions/ids", "position ids", shown_ids_);
  drawHistogram(dists_, "positions/distances", "distances", shown_dists_);
}

void PositionsTab::drawHistogram(PlotView* plot, const char* artifact, const char* what, std::vector<Shown>& shown) {
  plot->clearPlottables();
  auto& marks_items = plot == ids_ ? marks_ids_ : marks_dists_;
  remove_items(plot, marks_items);
  shown.clear();
  struct Run {
    QString label;
    QColor color;
    std::vector<int64_t> counts;
  };
  std::vector<Run> runs;
  std::vector<LengthMark> marks;
  const auto& sel = selection();
  size_t longest = 0;
  for (int i = 0; i < sel.size(); ++i) {
    const auto* s = cache()->summary(sel[i]);
    Run r{runLabel(sel[i], s ? s->run.name : std::string()), runColor(i), {}};
    if (const RunDetail* d = cache()->detail(sel[i]))
      if (auto blob = d->blob(artifact)) r.counts = artifact_counts(*blob);
    for (const auto& m : window_marks(cache()->config(sel[i]))) marks.push_back(m);
    longest = std::max(longest, r.counts.size());
    runs.push_back(std::move(r));
  }
  const int64_t width = display_bin_width(static_cast<int64_t>(longest));
  const bool dens = density();
  int with_counts = 0;
  for (const auto& r : runs) with_counts += r.counts.empty() ? 0 : 1;
  double ymax = 0;
  for (const auto& r : runs) {
    Rebinned b = rebin_counts(r.counts, width);
    if (b.total == 0) {
      auto* g = plot->addGraph();  // in the legend only: says why the run has no bars
      g->setName(r.label + "  (no histogram yet)");
      g->setPen(QPen(r.color, 1.2, Qt::DotLine));
      continue;
    }
    const double norm = dens ? 1.0 / (static_cast<double>(b.total) * static_cast<double>(width)) : 1.0;
    QVector<double> x, y;
    for (size_t k = 0; k < b.counts.size(); ++k) {
      x << static_cast<double>(k) * static_cast<double>(width);
      y << static_cast<double>(b.counts[k]) * norm;
      ymax = std::max(ymax, y.back());
    }
    if (with_counts == 1) {
      auto* bars = new QCPBars(plot->xAxis, plot->yAxis);
      bars->setName(r.label);
      for (double& k : x) k += static_cast<double>(width) / 2;  // bars are centred on their key
      bars->setWidth(static_cast<double>(width));
      // Outlines in the fill colour: dark ones turn a few hundred narrow bars into a comb, none
      // leave hairline gaps where bar edges round to pixels.
      const QColor fill = QColor::fromRgbF(0.75f * r.color.redF() + 0.25f, 0.75f * r.color.greenF() + 0.25f,
                                           0.75f * r.color.blueF() + 0.25f);
      bars->setPen(QPen(fill, 1));
      bars->setBrush(fill);
      bars->setData(x, y, true);
    } else {
      // One step line per run: bars of several runs would hide each other.
      x << static_cast<double>(b.counts.size()) * static_cast<double>(width);
      y << y.back();
      auto* g = plot->addGraph();
      g->setName(r.label);
      g->setLineStyle(QCPGraph::lsStepLeft);
      g->setPen(QPen(r.color, 1.6));
      g->setData(x, y, true);
    }
    shown.push_back({r.label, std::move(b)});
  }
  marks_items = add_length_marks(plot, marks);
  if (dens) {
    plot->yAxis->setTicker(QSharedPointer<QCPAxisTicker>::create());
  } else {
    plot->yAxis->setTicker(QSharedPointer<SiTicker>::create());
  }
  plot->yAxis->setLabel(dens ? "fraction per position" : width == 1 ? "count" : QString("count per %1 positions").arg(width));
  plot->legend->setVisible(!runs.empty());
  if (runs.empty()) {
    plot->setEmptyMessage(plot == ids_ ? "Select runs in the run browser to see the positions they trained on" : "");
  } else if (with_counts == 0) {
    plot->setEmptyMessage(QString("No %1 histogram yet (the trainer writes it with each checkpoint)").arg(what));
  } else {
    plot->setEmptyMessage("");
  }
  // Histograms start at zero on both axes; the marked windows stay in view.
  double xmax = static_cast<double>(longest);
  for (const auto& m : marks) xmax = std::max(xmax, m.x);
  if (xmax > 0) plot->xAxis->setRange(-0.01 * xmax, 1.04 * xmax);
  if (ymax > 0) plot->yAxis->setRange(0, ymax * 1.12);
  plot->replot(QCustomPlot::rpQueuedReplot);
}

void PositionsTab::hover(PlotView* plot, QMouseEvent* e) {
  const auto& sh = shown(plot);
  if (sh.empty() || e->buttons() != Qt::NoButton) return;
  const double x = plot->xAxis->pixelToCoord(e->pos().x());
  const int64_t w = sh.front().bins.width;
  if (x < 0) {
    QToolTip::hideText();
    return;
  }
  const auto k = static_cast<size_t>(x / static_cast<double>(w));
  const QLocale loc;
  const QString what = plot == ids_ ? "ids" : "distances";
  QString text = w == 1 ? QString("%1 %2").arg(what).arg(k)
                        : QString("%1 %2–%3").arg(what).arg(k * static_cast<size_t>(w)).arg((k + 1) * static_cast<size_t>(w) - 1);
  bool any = false;
  for (const auto& s : sh) {
    if (k >= s.bins.counts.size()) continue;
    const int64_t c = s.bins.counts[k];
    text += QString("\n%1: %2 of %3 (%4%)")
                .arg(s.label, loc.toString(static_cast<qlonglong>(c)), loc.toString(static_cast<qlonglong>(s.bins.total)))
                .arg(100.0 * static_cast<double>(c) / static_cast<double>(s.bins.total), 0, 'f', 2);
    any = true;
  }
  if (any) {
    QToolTip::showText(e->globalPosition().toPoint(), text, plot);
  } else {
    QToolTip::hideText();
  }
}

}  // namespace ctx::gui
