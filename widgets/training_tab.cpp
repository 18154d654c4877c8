// TrainingTab: loss / learning rate / throughput curves; see training_tab.h.
#include "widgets/training_tab.h"

#include <QHBoxLayout>
#include <QMouseEvent>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace ctx::gui {

std::vector<double> ema_smooth(const std::vector<double>& v, double weight) {
  std::vector<double> out(v.size(), std::nan(""));
  weight = std::clamp(weight, 0.0, 0.999);
  double s = 0, debias = 1;  // debias = weight^n after n finite values
  for (size_t i = 0; i < v.size(); ++i) {
    if (!std::isfinite(v[i])) continue;
    s = weight * s + (1 - weight) * v[i];
    debias *= weight;
    out[i] = s / (1 - debias);
  }
  return out;
}

std::vector<double> steps_to_tokens(const Series& tokens_seen, const std::vector<double>& steps) {
  const auto& ts = tokens_seen.step;
  const auto& tv = tokens_seen.value;
  std::vector<double> out(steps.size(), std::nan(""));
  if (ts.empty()) return out;
  for (size_t i = 0; i < steps.size(); ++i) {
    const double s = steps[i];
    const auto it = std::lower_bound(ts.begin(), ts.end(), s);
    if (it == ts.end()) continue;
    const auto k = static_cast<size_t>(it - ts.begin());
    if (*it == s) {
      out[i] = tv[k];
    } else if (k > 0) {
      const double t = (s - ts[k - 1]) / (ts[k] - ts[k - 1]);
      out[i] = tv[k - 1] + t * (tv[k] - tv[k - 1]);
    }
  }
  return out;
}

QVector<double> LogTicker125::createTickVector(double tickStep, const QCPRange& range) {
  const double lo = std::max(range.lower, 1e-300), hi = std::max(range.upper, lo);
  const double decades = std::log10(hi / lo);
  if (decades < 0.3) return QCPAxisTicker::createTickVector(tickStep, range);  // narrow: linear ticks read best
  std::vector<double> mult;
  if (decades > 2.5) {
    mult = {1};
  } else if (decades > 0.8) {
    mult = {1, 2, 5};
  } else {
    mult = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  }
  const int step = decades > 8 ? static_cast<int>(std::ceil(decades / 6)) : 1;
  QVector<double> ticks;
  const int e0 = static_cast<int>(std::floor(std::log10(lo))) - 1;
  const int e1 = static_cast<int>(std::ceil(std::log10(hi))) + 1;
  for (int e = e0; e <= e1; ++e) {
    if (step > 1 && e % step != 0) continue;
    for (double m : mult) ticks.push_back(m * std::pow(10.0, e));
  }
  return ticks;
}

QVector<double> LogTicker125::createSubTickVector(int, const QVector<double>& ticks) {
  // Sub ticks at every unit of each decade the ticks cover, unless the ticks are already that dense.
  QVector<double> sub;
  if (ticks.size() < 2) return sub;
  const double lo = ticks.front(), hi = ticks.back();
  if (lo <= 0) return sub;
  for (int e = static_cast<int>(std::floor(std::log10(lo))); std::pow(10.0, e) <= hi; ++e)
    for (int m = 1; m <= 9; ++m) {
      const double v = m * std::pow(10.0, e);
      if (v > lo && v < hi && !ticks.contains(v)) sub.push_back(v);
    }
  return sub;
}

QString SiTicker::getTickLabel(double tick, const QLocale& locale, QChar formatChar, int precision) {
  static const std::pair<double, const char*> units[] = {{1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"}};
  for (const auto& [unit, suffix] : units)
    if (std::abs(tick) >= unit) return QString::number(tick / unit, 'g', 4) + suffix;
  return QCPAxisTicker::getTickLabel(tick, locale, formatChar, precision);
}

TrainingTab::TrainingTab(DataCache* cache, QWidget* parent) : PlotTab(cache, parent) {
  x_kind_ = new QComboBox;
  x_kind_->addItem("x: step");
  x_kind_->addItem("x: tokens seen");
  log_loss_ = new QCheckBox("log-scale loss");
  smooth_ = new QSlider(Qt::Horizontal);
  smooth_->setRange(0, 99);
  smooth_->setValue(0);
  smooth_->setFixedWidth(160);
  smooth_->setToolTip("EMA smoothing weight of loss and throughput (raw curve drawn faint behind)");
  smooth_label_ = new QLabel;
  smooth_label_->setMinimumWidth(110);
  note_ = new QLabel;
  note_->setStyleSheet("color: #8a5a00");

  auto* bar = new QHBoxLayout;
  bar->addWidget(x_kind_);
  bar->addWidget(log_loss_);
  bar->addSpacing(12);
  bar->addWidget(smooth_label_);
  bar->addWidget(smooth_);
  bar->addSpacing(12);
  bar->addWidget(note_, 1);

  loss_ = new PlotView;
  lr_ = new PlotView;
  speed_ = new PlotView;
  gpu_ = new PlotView;
  auto* col = new QVBoxLayout(this);
  col->addLayout(bar);
  col->addWidget(loss_, 5);
  col->addWidget(lr_, 3);
  col->addWidget(speed_, 3);
  col->addWidget(gpu_, 3);

  loss_->yAxis->setLabel("loss");
  lr_->yAxis->setLabel("learning rate");
  speed_->yAxis->setLabel("tokens / s");
  speed_->yAxis->setTicker(QSharedPointer<SiTicker>::create());
  gpu_->yAxis->setLabel("GPU GiB");  // short: the panel is low, long labels are cut
  gpu_->yAxis2->setLabel("GPU util %");
  gpu_->yAxis2->setTickLabels(true);
  gpu_->legend->setFont(QFont(font().family(), 7));
  gpu_->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignBottom | Qt::AlignRight);
  loss_->legend->setVisible(true);
  loss_->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);
  for (PlotView* p : plots()) {
    p->setMinimumHeight(140);
    connect(p->xAxis, qOverload<const QCPRange&>(&QCPAxis::rangeChanged), this, [this, p](const QCPRange& r) {
      if (syncing_) return;
      syncing_ = true;
      for (PlotView* other : plots())
        if (other != p) {
          other->xAxis->setRange(r);
          other->replot(QCustomPlot::rpQueuedReplot);
        }
      syncing_ = false;
    });
    // The user's zoom or drag wins over live refitting until a double click asks to follow again.
    connect(p, &QCustomPlot::mouseWheel, this, [this] { follow_ = false; });
    connect(p, &QCustomPlot::mouseMove, this, [this](QMouseEvent* e) {
      if (e->buttons() & Qt::LeftButton) follow_ = false;
    });
    connect(p, &QCustomPlot::mouseDoubleClick, this, [this] { followAgain(); });
    p->setToolTip("Drag or wheel to zoom; double click to fit and follow the runs again");
  }

  connect(x_kind_, qOverload<int>(&QComboBox::currentIndexChanged), this, [this] { followAgain(); });
  connect(log_loss_, &QCheckBox::toggled, this, [this] { followAgain(); });
  connect(smooth_, &QSlider::valueChanged, this, [this] {
    const double w = smoothing();
    smooth_label_->setText(w > 0 ? QString("smoothing %1").arg(w, 0, 'f', 2) : QString("smoothing: off"));
    scheduleRedraw();
  });
  smooth_label_->setText("smoothing: off");
}

void TrainingTab::setXKind(XKind k) { x_kind_->setCurrentIndex(k == XKind::Tokens ? 1 : 0); }
TrainingTab::XKind TrainingTab::xKind() const {
  return x_kind_->currentIndex() == 1 ? XKind::Tokens : XKind::Step;
}
void TrainingTab::setLogLoss(bool on) { log_loss_->setChecked(on); }
void TrainingTab::setSmoothing(double weight) {
  smooth_->setValue(static_cast<int>(std::lround(std::clamp(weight, 0.0, 0.99) * 100)));
}
double TrainingTab::smoothing() const { return smooth_->value() / 100.0; }

void TrainingTab::followAgain() {
  follow_ = true;
  scheduleRedraw();
}

void TrainingTab::drawMetric(PlotView* plot, const char* metric, const QString& what, bool smooth,
                             QStringList* missing_tokens) {
  plot->clearGraphs();
  const bool tokens = xKind() == XKind::Tokens;
  const double w = smooth ? smoothing() : 0.0;
  const auto& sel = selection();
  int with_points = 0;
  for (int i = 0; i < sel.size(); ++i) {
    const int64_t run = sel[i];
    const auto* s = cache()->summary(run);
    const QString label = runLabel(run, s ? s->run.name : std::string());
    const QColor color = runColor(i);
    const RunDetail* d = cache()->detail(run);
    const Series* series = nullptr;
    if (d) {
      auto it = d->series.find(metric);
      if (it != d->series.end() && !it->second.step.empty()) series = &it->second;
    }
    if (!series) {
      // Keeps the run in the legend, so an empty curve reads as "nothing yet" rather than missing.
      auto* g = plot->addGraph();
      g->setName(label + (d ? "  (no steps yet)" : "  (loading)"));
      g->setPen(QPen(color, 1.5, Qt::DotLine));
      continue;
    }
    std::vector<double> x, y;
    if (!pointsOf(d, metric, x, y)) {
      if (tokens && missing_tokens && !missing_tokens->contains(label)) missing_tokens->push_back(label);
      continue;
    }
    ++with_points;
    if (w > 0) {
      auto* raw = plot->addGraph();
      raw->setName(label + " (raw)");
      QColor faint = color;
      faint.setAlpha(80);
      raw->setPen(QPen(faint, 1));
      raw->removeFromLegend();
      auto smoothed = ema_smooth(y, w);
      plot->setSeries(raw, x, std::move(y));
      auto* g = plot->addGraph();
      g->setName(label);
      g->setPen(QPen(color, 1.6));
      plot->setSeries(g, std::move(x), std::move(smoothed));
    } else {
      auto* g = plot->addGraph();
      g->setName(label);
      g->setPen(QPen(color, 1.3));
      plot->setSeries(g, std::move(x), std::move(y));
    }
  }
  plot->xAxis->setLabel(tokens ? "tokens seen" : "step");
  if (sel.isEmpty()) {
    plot->setEmptyMessage(plot == loss_ ? "Select runs in the run browser to see their training curves" : "");
  } else if (with_points == 0) {
    plot->setEmptyMessage(tokens && missing_tokens && !missing_tokens->isEmpty()
                              ? "The selected runs log no tokens_seen: use x = step"
                              : "No " + what + " logged yet");
  } else {
    plot->setEmptyMessage("");
  }
}

bool TrainingTab::pointsOf(const RunDetail* d, const char* metric, std::vector<double>& x, std::vector<double>& y) const {
  if (!d) return false;
  auto it = d->series.find(metric);
  if (it == d->series.end() || it->second.step.empty()) return false;
  const Series& series = it->second;
  x = series.step;
  y = series.value;
  if (xKind() == XKind::Tokens) {
    static const Series none;
    auto ts = d->series.find("tokens_seen");
    x = steps_to_tokens(ts == d->series.end() ? none : ts->second, series.step);
    size_t keep = 0;  // points whose tokens count is unknown cannot be placed
    for (size_t k = 0; k < x.size(); ++k)
      if (std::isfinite(x[k])) {
        x[keep] = x[k];
        y[keep] = y[k];
        ++keep;
      }
    x.resize(keep);
    y.resize(keep);
  }
  return !x.empty();
}

void TrainingTab::drawGpu() {
  gpu_->clearGraphs();
  const auto& sel = selection();
  int memory = 0, util = 0, loading = 0;
  for (int i = 0; i < sel.size(); ++i) {
    const auto* s = cache()->summary(sel[i]);
    const QString label = runLabel(sel[i], s ? s->run.name : std::string());
    const RunDetail* d = cache()->detail(sel[i]);
    if (!d) ++loading;
    const QColor color = runColor(i);
    std::vector<double> x, y;
    if (pointsOf(d, "gpu_memory_gib", x, y)) {
      auto* g = gpu_->addGraph();
      g->setName(label + " · memory");
      g->setPen(QPen(color, 1.6));
      gpu_->setSeries(g, std::move(x), std::move(y));
      ++memory;
    }
    if (pointsOf(d, "gpu_util", x, y)) {
      auto* g = gpu_->addGraph(gpu_->xAxis, gpu_->yAxis2);
      g->setName(label + " · utilisation");
      QColor faint = color;
      faint.setAlpha(170);
      g->setPen(QPen(faint, 1.2, Qt::DashLine));
      gpu_->setSeries(g, std::move(x), std::move(y));
      ++util;
    }
  }
  gpu_->xAxis->setLabel(xKind() == XKind::Tokens ? "tokens seen" : "step");
  gpu_->yAxis2->setVisible(util > 0);
  gpu_->legend->setVisible(memory + util > 0);
  // CPU runs log no GPU metrics: the panel only takes room when a selected run has them.
  gpu_->setVisible(memory + util > 0);
  gpu_->setEmptyMessage(memory + util > 0 || sel.isEmpty() ? QString()
                        : loading                          ? QString("loading…")
                                                           : QString("No GPU metrics: the selected runs ran on the CPU."));
}

void TrainingTab::redraw() {
  if (drawn_selection_ != selection()) {
    follow_ = true;
    drawn_selection_ = selection();
  }
  const bool log = log_loss_->isChecked();
  loss_->yAxis->setScaleType(log ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
  if (log) {
    loss_->yAxis->setTicker(QSharedPointer<QCPAxisTicker>(new LogTicker125));
  } else {
    loss_->yAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
  }
  for (PlotView* p : plots()) {
    if (xKind() == XKind::Tokens) {
      p->xAxis->setTicker(QSharedPointer<SiTicker>::create());
    } else {
      p->xAxis->setTicker(QSharedPointer<QCPAxisTicker>::create());
    }
  }
  QStringList missing;
  syncing_ = true;  // the panels' ranges are set together below
  drawMetric(loss_, "loss", "training steps", true, &missing);
  drawMetric(lr_, "lr", "learning rate", false, &missing);
  drawMetric(speed_, "tokens_per_s", "throughput", true, &missing);
  drawGpu();
  loss_->legend->setVisible(loss_->graphCount() > 0);
  syncing_ = false;
  note_->setText(missing.isEmpty() ? QString()
                                   : "Not shown against tokens (no tokens_seen logged): " + missing.join(", "));
  if (follow_) {
    fitShared();
    gpu_->yAxis2->setRange(-3, 103);  // utilisation is a percentage: the whole scale
  } else {
    for (PlotView* p : plots()) p->replot(QCustomPlot::rpQueuedReplot);
  }
  alignMargins();
}

void TrainingTab::fitShared() {
  syncing_ = true;
  bool any = false;
  QCPRange x;
  for (PlotView* p : plots()) {
    bool has = false;
    for (int i = 0; i < p->graphCount(); ++i) has = has || !p->graph(i)->data()->isEmpty();
    p->fitAndReplot();
    if (!has) continue;
    x = any ? QCPRange(std::min(x.lower, p->xAxis->range().lower), std::max(x.upper, p->xAxis->range().upper))
            : p->xAxis->range();
    any = true;
  }
  if (any)
    for (PlotView* p : plots()) p->xAxis->setRange(x);
  syncing_ = false;
}

void TrainingTab::alignMargins() {
  // Separate plots lay out their own left margins; stacked, the axes only line up when every
  // panel takes the widest one.
  int widest = 0, right = 0;  // the GPU plot's utilisation axis widens its right margin
  for (PlotView* p : plots()) {
    if (p->isHidden()) continue;
    p->axisRect()->setMinimumMargins(QMargins(0, 0, 0, 0));
    p->replot(QCustomPlot::rpQueuedRefresh);  // lays out now; the screen is updated below
    widest = std::max(widest, p->axisRect()->margins().left());
    right = std::max(right, p->axisRect()->margins().right());
  }
  for (PlotView* p : plots()) {
    p->axisRect()->setMinimumMargins(QMargins(widest, 0, right, 0));
    p->replot(QCustomPlot::rpQueuedReplot);
  }
}

}  // namespace ctx::gui
