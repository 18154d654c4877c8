// PositionLossTab: per-position loss curves at one evaluation length; see position_loss_tab.h.
#include "widgets/position_loss_tab.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QVBoxLayout>

#include <cmath>
#include <set>

#include "widgets/perplexity_tab.h"

namespace ctx::gui {

namespace {

const std::string kPrefix = "position_loss/";

// "position_loss/<mode>/<L>" -> (mode, L); false for other names.
bool parse_name(const std::string& name, std::string& mode, int64_t& length) {
  if (name.rfind(kPrefix, 0) != 0) return false;
  const auto slash = name.rfind('/');
  if (slash <= kPrefix.size()) return false;
  mode = name.substr(kPrefix.size(), slash - kPrefix.size());
  try {
    size_t used = 0;
    length = std::stoll(name.substr(slash + 1), &used);
    return used == name.size() - slash - 1 && length > 0;
  } catch (const std::exception&) {
    return false;
  }
}

std::string artifact_name(const QString& mode, qint64 length) {
  return kPrefix + mode.toStdString() + "/" + std::to_string(length);
}

}  // namespace

std::vector<double> window_average(const std::vector<double>& v, int window) {
  if (window <= 1) return v;
  const size_t n = v.size();
  const size_t half = static_cast<size_t>(window) / 2;
  std::vector<double> sum(n + 1, 0.0);
  std::vector<size_t> cnt(n + 1, 0);
  for (size_t i = 0; i < n; ++i) {
    const bool ok = std::isfinite(v[i]);
    sum[i + 1] = sum[i] + (ok ? v[i] : 0.0);
    cnt[i + 1] = cnt[i] + (ok ? 1 : 0);
  }
  std::vector<double> out(n);
  for (size_t i = 0; i < n; ++i) {
    const size_t lo = i >= half ? i - half : 0;
    const size_t hi = std::min(n, i + half + 1);
    const size_t c = cnt[hi] - cnt[lo];
    out[i] = c ? (sum[hi] - sum[lo]) / static_cast<double>(c) : std::nan("");
  }
  return out;
}

PositionLossTab::PositionLossTab(DataCache* cache, QWidget* parent) : PlotTab(cache, parent) {
  mode_ = new QComboBox;
  mode_->setMinimumContentsLength(10);
  length_ = new QComboBox;
  length_->setMinimumContentsLength(7);
  log_x_ = new QCheckBox("log-scale position");
  window_ = new QSpinBox;
  window_->setRange(1, 1025);
  window_->setSingleStep(2);
  window_->setValue(1);
  window_->setSpecialValueText("off");
  window_->setSuffix(" positions");
  window_->setToolTip("Centred moving average over this many positions (raw curve drawn faint behind)");
  auto* bar = new QHBoxLayout;
  bar->addWidget(new QLabel("mode"));
  bar->addWidget(mode_);
  bar->addSpacing(8);
  bar->addWidget(new QLabel("length"));
  bar->addWidget(length_);
  bar->addSpacing(8);
  bar->addWidget(log_x_);
  bar->addSpacing(8);
  bar->addWidget(new QLabel("smoothing"));
  bar->addWidget(window_);
  bar->addStretch(1);

  plot_ = new PlotView;
  plot_->xAxis->setLabel("position in the evaluation window");
  plot_->yAxis->setLabel("mean loss (nats)");
  legend_above(plot_);
  auto* col = new QVBoxLayout(this);
  col->addLayout(bar);
  col->addWidget(plot_, 1);

  connect(mode_, &QComboBox::currentTextChanged, this, [this] { scheduleRedraw(); });
  connect(length_, &QComboBox::currentTextChanged, this, [this] { scheduleRedraw(); });
  connect(log_x_, &QCheckBox::toggled, this, [this] { scheduleRedraw(); });
  connect(window_, qOverload<int>(&QSpinBox::valueChanged), this, [this] { scheduleRedraw(); });
}

QStringList PositionLossTab::modes() const {
  std::set<std::string> found;
  std::string mode;
  int64_t len = 0;
  for (qint64 run : selection())
    if (const RunDetail* d = cache()->detail(run))
      for (const auto& [name, steps] : d->artifact_steps)
        if (parse_name(name, mode, len)) found.insert(mode);
  QStringList out;
  for (const auto& m : found) out << QString::fromStdString(m);
  return out;
}

QList<qint64> PositionLossTab::lengths(const QString& want) const {
  std::set<qint64> found;
  std::string mode;
  int64_t len = 0;
  for (qint64 run : selection())
    if (const RunDetail* d = cache()->detail(run))
      for (const auto& [name, steps] : d->artifact_steps)
        if (parse_name(name, mode, len) && QString::fromStdString(mode) == want) found.insert(len);
  return QList<qint64>(found.begin(), found.end());
}

qint64 PositionLossTab::length() const { return length_->currentText().toLongLong(); }

void PositionLossTab::setMode(const QString& mode) {
  refreshPickers();
  mode_->setCurrentText(mode);
  refreshPickers();
}

void PositionLossTab::setLength(qint64 length) {
  refreshPickers();
  length_->setCurrentText(QString::number(length));
}

void PositionLossTab::setLogX(bool on) { log_x_->setChecked(on); }
void PositionLossTab::setWindow(int positions) { window_->setValue(positions); }

void PositionLossTab::refreshPickers() {
  auto reset = [](QComboBox* box, const QStringList& items, QString want) {
    QStringList have;
    for (int i = 0; i < box->count(); ++i) have << box->itemText(i);
    QSignalBlocker block(box);
    if (have != items) {
      box->clear();
      box->addItems(items);
    }
    if (!items.contains(want)) want = items.isEmpty() ? QString() : items.back();
    box->setCurrentText(want);
    box->setEnabled(items.size() > 1);
  };
  const QStringList ms = modes();
  const QString m = preferredMode(ms, mode_->currentText());
  reset(mode_, ms, m);
  QStringList ls;
  for (qint64 l : lengths(mode_->currentText())) ls << QString::number(l);
  // Unless chosen otherwise, the longest length: where extension methods differ.
  reset(length_, ls, length_->currentText());
}

void PositionLossTab::redraw() {
  refreshPickers();
  plot_->clearGraphs();
  remove_items(plot_, marks_);
  const bool log_x = log_x_->isChecked();
  plot_->xAxis->setScaleType(log_x ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
  if (log_x) {
    use_pow2_log_ticks(plot_->xAxis);
  } else {
    plot_->xAxis->setTicker(pow2_linear_ticker());
    plot_->xAxis->setNumberFormat("gb");
    plot_->xAxis->setNumberPrecision(6);
  }
  const qint64 L = length();
  const QString mode = mode_->currentText();
  const int window = window_->value();
  const auto& sel = selection();
  int with_points = 0;
  std::vector<LengthMark> marks;
  for (int i = 0; i < sel.size(); ++i) {
    const qint64 run = sel[i];
    const auto* s = cache()->summary(run);
    const QString label = runLabel(run, s ? s->run.name : std::string());
    const QColor color = runColor(i);
    const RunDetail* d = cache()->detail(run);
    std::vector<float> v;
    QString why = "  (loading)";
    if (d && L > 0) {
      const std::string name = artifact_name(mode, L);
      why = d->artifact_steps.count(name) ? "  (loading)" : QString("  (not evaluated at %1)").arg(L);
      if (auto blob = d->blob(name)) {
        try {
          v = store::artifact_as_f32(*blob);
        } catch (const store::StoreError& e) {
          why = "  (" + QString::fromStdString(e.what()) + ")";
        }
      }
    } else if (d) {
      why = "  (not evaluated yet)";
    }
    if (v.empty()) {
      auto* g = plot_->addGraph();
      g->setName(label + why);
      g->setPen(QPen(color, 1.2, Qt::DotLine));
      continue;
    }
    ++with_points;
    std::vector<double> x, y;
    for (size_t p = log_x ? 1 : 0; p < v.size(); ++p) {  // position 0 has no place on a log axis
      x.push_back(static_cast<double>(p));
      y.push_back(v[p]);
    }
    if (window > 1) {
      auto* raw = plot_->addGraph();
      QColor faint = color;
      faint.setAlpha(80);
      raw->setPen(QPen(faint, 1));
      raw->setName(label + " (raw)");
      raw->removeFromLegend();
      auto smooth = window_average(y, window);
      plot_->setSeries(raw, x, std::move(y));
      y = std::move(smooth);
    }
    auto* g = plot_->addGraph();
    g->setName(label);
    g->setPen(QPen(color, 1.5));
    plot_->setSeries(g, std::move(x), std::move(y));
    const int64_t tl = trained_length(cache()->config(run));
    if (tl > 0 && tl < L) marks.push_back({static_cast<double>(tl), color, QString("trained at %1").arg(tl)});
  }
  marks_ = add_length_marks(plot_, marks);
  plot_->legend->setVisible(!sel.isEmpty());
  if (sel.isEmpty()) {
    plot_->setEmptyMessage("Select runs in the run browser to see their loss at each position");
  } else if (with_points == 0) {
    plot_->setEmptyMessage(L > 0 ? QString("No per-position loss at length %1 for the selected runs").arg(L)
                                 : QString("No per-position loss yet (written with each perplexity evaluation)"));
  } else {
    plot_->setEmptyMessage("");
  }
  plot_->fitAndReplot();
}

}  // namespace ctx::gui
